// A kernel that breaks the contract on purpose, for the project's own tests:
// LD_PRELOAD this library and set GMEM_BREAK to one behaviour below; it
// rewrites what KVM's ioctls (and madvise) answer so that a check of the suite can be shown
// failing against a kernel that gets that one thing wrong (and passing
// without it). Never part of a real run.
//
//   to_shared_eagain        a to-shared request answers EAGAIN, its retry not
//   to_private_eagain_once  a to-private request answers EAGAIN (error_offset
//                           its start), its retry not: a transient reference
//   to_private_eagain       every to-private request answers EAGAIN
//   to_private_ignored      a to-private request answers 0 and converts nothing
//   eagain_before_validation an invalid request (reserved word, attribute
//                           bit) answers EAGAIN instead of EINVAL
//   private_combo_accepted  PRIVATE plus another attribute bit is accepted
//   eopnotsupp_offset_zero  EOPNOTSUPP reports error_offset 0
//   scramble_one_byte       UNSPECIFIED keeps the data but for one byte a page
//   error_offset_written    error_offset is written on every answer
//   vm_types_default_only   KVM_CAP_VM_TYPES says DEFAULT only
//   attributes2_enotty      the gmem ioctl answers ENOTTY (the mode "on")
//   no_init_shared          VM types with private memory lose INIT_SHARED
//   vm_attributes_built     the VM-level KVM_SET_MEMORY_ATTRIBUTES, not built
//                           (ENOTTY), answers 0 as if it were
//   gmem_cap_zero           KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES (252, v13's
//                           number) answers 0 while the mode is on
//   bind_overlap_accepted   a memslot the kernel refused with EEXIST (its gmem
//                           range already bound) answers 0, and stays unmade
//   collapse_accepted       a madvise(MADV_COLLAPSE) that failed answers 0
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVMIO 0xAE
#define CHECK_EXTENSION _IO(KVMIO, 0x03)
#define CREATE_VM _IO(KVMIO, 0x01)
#define CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct create_gmem)
#define SET_ATTRIBUTES2 _IOWR(KVMIO, 0xd2, struct attributes2)
#define SET_VM_ATTRIBUTES _IOW(KVMIO, 0xd2, struct vm_attributes)
#define CAP_GMEM_ATTRIBUTES_V13 252
#define SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct memory_region2)
#define CAP_VM_TYPES 235
#define CAP_GUEST_MEMFD_FLAGS 244
#define ATTRIBUTE_PRIVATE (1ULL << 3)
#define FLAG_INIT_SHARED (1ULL << 1)
#define MODE_PRESERVE (1ULL << 1)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

struct create_gmem {
	uint64_t size, flags, reserved[6];
};
struct vm_attributes {
	uint64_t address, size, attributes, flags;
};
struct attributes2 {
	uint64_t offset, size, attributes, flags, error_offset, reserved[11];
};
struct memory_region2 {
	uint32_t slot, flags;
	uint64_t guest_phys_addr, memory_size, userspace_addr, guest_memfd_offset;
	uint32_t guest_memfd, pad1;
	uint64_t pad2[14];
};

typedef int (*ioctl_fn)(int, unsigned long, ...);

static int breaks(const char *name)
{
	const char *v = getenv("GMEM_BREAK");
	return v && strcmp(v, name) == 0;
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	static ioctl_fn next;
	if (!next)
		next = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	return next(fd, req, arg);
}

static int fail(int err)
{
	errno = err;
	return -1;
}

// VM fds of types with private memory (x86: SW_PROTECTED, SNP, TDX), for
// fds below this count (a count of fds, not a size).
#define MAX_VM_FDS 4096
static char private_vm[MAX_VM_FDS];

static int private_type(unsigned long type)
{
	return type == 1 || type == 4 || type == 5;
}

static void flip_one_byte_a_page(int gmem_fd, uint64_t offset, uint64_t size)
{
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_fd, offset);
	if (p == MAP_FAILED)
		return;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	for (uint64_t i = 0; i < size; i += page)
		p[i] ^= 0xff;
	munmap(p, size);
}

// Whether the whole request can be read (a test passes a torn one on
// purpose): a pipe takes the bytes or answers EFAULT.
static int readable(const struct attributes2 *a)
{
	static int pipe_fds[2] = {-1, -1};
	char sink[sizeof(*a)];
	if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_CLOEXEC))
		return 1;
	if (write(pipe_fds[1], a, sizeof(*a)) != (ssize_t)sizeof(*a))
		return 0;
	return read(pipe_fds[0], sink, sizeof(sink)) == (ssize_t)sizeof(sink);
}

// A request differs from the one before (a retry repeats it).
static int new_request(const struct attributes2 *a)
{
	static struct attributes2 last;
	int fresh = memcmp(&last, a, sizeof(last)) != 0;
	last = *a;
	return fresh;
}

static int set_attributes2(int fd, struct attributes2 *a)
{
	if (!readable(a))
		return breaks("attributes2_enotty") ? fail(ENOTTY) : real_ioctl(fd, SET_ATTRIBUTES2, a);
	int valid = (a->attributes & ~ATTRIBUTE_PRIVATE) == 0;
	for (int i = 0; i < 11; i++)
		valid &= a->reserved[i] == 0;
	if (breaks("to_shared_eagain") && a->attributes == 0 && a->size && new_request(a)) {
		a->error_offset = a->offset;
		return fail(EAGAIN);
	}
	int to_private = valid && a->size && a->attributes == ATTRIBUTE_PRIVATE;
	if ((breaks("to_private_eagain_once") && new_request(a) && to_private) ||
	    (breaks("to_private_eagain") && to_private)) {
		a->error_offset = a->offset;
		return fail(EAGAIN);
	}
	if (breaks("to_private_ignored") && to_private)
		return 0;
	if (breaks("eagain_before_validation") && !valid) {
		a->error_offset = a->offset;
		return fail(EAGAIN);
	}
	if (breaks("private_combo_accepted") && (a->attributes & ATTRIBUTE_PRIVATE))
		a->attributes = ATTRIBUTE_PRIVATE;
	if (breaks("attributes2_enotty"))
		return fail(ENOTTY);
	int scramble = breaks("scramble_one_byte") && valid && a->flags == 0;
	if (scramble) {
		if (a->attributes)  // still shared: change it before it goes private
			flip_one_byte_a_page(fd, a->offset, a->size);
		a->flags = MODE_PRESERVE;
	}
	int r = real_ioctl(fd, SET_ATTRIBUTES2, a);
	int err = errno;
	if (scramble) {
		a->flags = 0;
		if (r == 0 && !a->attributes)
			flip_one_byte_a_page(fd, a->offset, a->size);
	}
	if (r && err == EOPNOTSUPP && breaks("eopnotsupp_offset_zero"))
		a->error_offset = 0;
	if (breaks("error_offset_written"))
		a->error_offset = 0xdead000;
	errno = err;
	return r;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	if (req == SET_ATTRIBUTES2)
		return set_attributes2(fd, arg);
	if (req == CREATE_VM && breaks("vm_types_default_only") && (unsigned long)arg != 0)
		return fail(EINVAL);
	int r = real_ioctl(fd, req, arg);
	if (req == SET_VM_ATTRIBUTES && r && errno == ENOTTY && breaks("vm_attributes_built"))
		return 0;
	if (req == CREATE_VM && r >= 0 && r < (int)sizeof(private_vm))
		private_vm[r] = private_type((unsigned long)arg);
	if (req == SET_USER_MEMORY_REGION2 && r && errno == EEXIST && breaks("bind_overlap_accepted"))
		return 0;
	if (req == CHECK_EXTENSION && r > 0) {
		if ((unsigned long)arg == CAP_VM_TYPES && breaks("vm_types_default_only"))
			r = 1;
		if ((unsigned long)arg == CAP_GMEM_ATTRIBUTES_V13 && breaks("gmem_cap_zero"))
			r = 0;
		if ((unsigned long)arg == CAP_GUEST_MEMFD_FLAGS && breaks("no_init_shared") &&
		    fd < (int)sizeof(private_vm) && private_vm[fd])
			r &= ~FLAG_INIT_SHARED;
	}
	if (req == CREATE_GUEST_MEMFD && r >= 0 && breaks("no_init_shared") &&
	    fd < (int)sizeof(private_vm) && private_vm[fd] &&
	    (((struct create_gmem *)arg)->flags & FLAG_INIT_SHARED)) {
		close(r);
		return fail(EINVAL);
	}
	return r;
}

typedef int (*madvise_fn)(void *, size_t, int);

int madvise(void *addr, size_t len, int advice)
{
	static madvise_fn next;
	if (!next)
		next = (madvise_fn)dlsym(RTLD_NEXT, "madvise");
	int r = next(addr, len, advice);
	if (r && advice == MADV_COLLAPSE && breaks("collapse_accepted"))
		return 0;
	return r;
}
