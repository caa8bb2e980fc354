// guest_memfd as the running kernel offers it without per-gmem attributes:
// creation, file semantics, host mappings, hole punching, other processes,
// and a guest that reads and writes the same pages as the host.
//
// Fixtures (each with a variant per known VM type):
//   create   creation flags and sizes, file operations, fallocate
//   shared   MMAP|INIT_SHARED: host reads/writes, punch, fork, SCM_RIGHTS
//   private  MMAP without INIT_SHARED: every host access raises SIGBUS
//   bind     memslot bindings: one memslot per gmem range (EEXIST)
//   guest    a guest and the host on the same in-place shared pages; a MMAP
//            gmem's memslot is guest_memfd-only (userspace_addr elsewhere)
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <optional>
#include <sstream>
#include <vector>

#include "decoy_memory.hh"
#include "guest_access.hh"
#include "guest_memfd.hh"
#include "guest_pages.hh"
#include "guest_vm.hh"
#include "hex.hh"
#include "page_size.hh"
#include "pagemap.hh"
#include "pattern.hh"
#include "peer.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "test.hh"
#include "threads.hh"
#include "vm.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPages = 16;  // the size of every guest_memfd here, in host pages
constexpr uint64_t kMmap = GUEST_MEMFD_FLAG_MMAP;
constexpr uint64_t kInitShared = GUEST_MEMFD_FLAG_INIT_SHARED;
constexpr uint64_t kSeedA = 0xa11ce, kSeedB = 0xb0b;

uint64_t gmem_size()
{
	return kPages * page_size();
}

// Ends the test unless [base, base + len) holds pattern(seed) for gmem offset file_offset.
void assert_pattern(const uint8_t *base, uint64_t file_offset, uint64_t len, uint64_t seed,
		    Where where = Where::here())
{
	int64_t bad = find_pattern_mismatch(base, file_offset, len, seed);
	ASSERT_EQ(bad, -1) << where << "byte at gmem offset " << hex(file_offset + bad) << " is "
			   << hex(base[bad]) << ", expected "
			   << hex(pattern_byte(seed, file_offset + bad));
}

void assert_zero(const uint8_t *base, uint64_t file_offset, uint64_t len,
		 Where where = Where::here())
{
	int64_t bad = find_nonzero(base, len);
	ASSERT_EQ(bad, -1) << where << "byte at gmem offset " << hex(file_offset + bad) << " is "
			   << hex(base[bad]) << ", expected 0";
}

// What went wrong in a peer's reply ("" when nothing did).
std::string peer_trouble(const PeerReply &r)
{
	if (!r.err && !r.sigbus_pages && !r.mismatches)
		return "";
	std::ostringstream os;
	os << "errno " << Errno(r.err) << ", " << r.sigbus_pages << " SIGBUS pages, " << r.mismatches
	   << " wrong bytes, first at " << hex(r.first_bad) << " (expected " << hex(r.expected)
	   << ", seen " << hex(r.seen) << ")";
	return os.str();
}

void assert_peer_clean(const PeerReply &r, const char *what, Where where = Where::here())
{
	std::string trouble = peer_trouble(r);
	ASSERT_TRUE(trouble.empty()) << where << what << ": " << trouble;
}

// ---------------------------------------------------------------- create

struct CreateGmem {
	Vm vm;
	uint64_t offered;
	explicit CreateGmem(const VmTypeVariant &v) : vm(*v.type)
	{
		require_guest_memfd(vm, 0);
		offered = vm.guest_memfd_flags();
	}
	int create(uint64_t size, uint64_t flags) const
	{
		return __create_guest_memfd(vm.fd(), size, flags);
	}
};

KVMT_FIXTURE(create, CreateGmem, VmTypeVariant, vm_type_variants());

// Spec 2: KVM_CAP_GUEST_MEMFD_FLAGS offers only MMAP and INIT_SHARED, INIT_SHARED only with MMAP.
KVMT_TEST_F(create, offered_flags_are_known)
{
	ASSERT_EQ(f.offered & ~(kMmap | kInitShared), 0u) << "offered " << gmem_flags_name(f.offered);
	if (f.offered & kInitShared)
		ASSERT_TRUE(f.offered & kMmap) << "offered " << gmem_flags_name(f.offered);
}

// Every combination of the offered creation flags creates a guest_memfd.
KVMT_TEST_F(create, every_offered_flag_combination)
{
	for (uint64_t flags = 0; flags <= f.offered; flags++) {
		if (flags & ~f.offered)
			continue;
		int fd = f.create(gmem_size(), flags);
		int err = errno;
		EXPECT_TRUE(fd >= 0) << "flags " << gmem_flags_name(flags) << ": " << Errno(err);
		if (fd >= 0)
			close(fd);
	}
}

// A creation flag bit the VM does not offer is refused with EINVAL, one bit at a time.
KVMT_TEST_F(create, every_other_flag_bit_einval)
{
	for (int bit = 0; bit < 64; bit++) {
		uint64_t flag = 1ULL << bit;
		if (f.offered & flag)
			continue;
		errno = 0;
		int fd = f.create(gmem_size(), flag);
		int err = fd < 0 ? errno : 0;
		EXPECT_EQ(Errno(err), Errno(EINVAL)) << "flag bit " << bit << " (returned " << fd << ")";
		if (fd >= 0)
			close(fd);
	}
}

// Size 0 is refused with EINVAL.
KVMT_TEST_F(create, size_zero_einval)
{
	ASSERT_ERRNO(f.create(0, 0), EINVAL);
}

// A size that is not a multiple of the host page size is refused with EINVAL.
KVMT_TEST_F(create, size_unaligned_einval)
{
	uint64_t page = page_size(), size = gmem_size();
	for (uint64_t bad : {(uint64_t)1, page - 1, page + 1, size - 1, size + page / 2})
		EXPECT_ERRNO(f.create(bad, 0), EINVAL) << "size " << bad;
}

// A size that is negative as a loff_t is refused with EINVAL.
KVMT_TEST_F(create, size_negative_einval)
{
	ASSERT_ERRNO(f.create(-page_size(), 0), EINVAL);
	ASSERT_ERRNO(f.create(1ULL << 63, 0), EINVAL);
}

// Nothing is charged at creation, so a 1 TiB file is just a size.
KVMT_TEST_F(create, size_one_tib)
{
	UniqueFd fd(f.create(1ULL << 40, 0));
	ASSERT_TRUE(fd.get() >= 0) << Errno(errno);
	struct stat st;
	ASSERT_OK(fstat(fd.get(), &st));
	ASSERT_EQ((uint64_t)st.st_size, 1ULL << 40);
}

// Each guest_memfd is its own inode on one (anonymous) filesystem.
KVMT_TEST_F(create, distinct_inodes)
{
	constexpr int kFiles = 4;
	UniqueFd fds[kFiles];
	struct stat st[kFiles];
	for (int i = 0; i < kFiles; i++) {
		fds[i].reset(f.create(gmem_size(), 0));
		ASSERT_TRUE(fds[i].get() >= 0) << "file " << i << ": " << Errno(errno);
		ASSERT_OK(fstat(fds[i].get(), &st[i])) << "file " << i;
	}
	for (int i = 0; i < kFiles; i++)
		for (int j = i + 1; j < kFiles; j++) {
			EXPECT_NE(st[i].st_ino, st[j].st_ino) << "files " << i << " and " << j;
			EXPECT_EQ(st[i].st_dev, st[j].st_dev) << "files " << i << " and " << j;
		}
}

// fstat reports the created size and the host page size as block size.
KVMT_TEST_F(create, fstat_size_and_block_size)
{
	for (uint64_t pages : {(uint64_t)1, kPages, (uint64_t)512}) {
		UniqueFd fd(f.create(pages * page_size(), 0));
		ASSERT_TRUE(fd.get() >= 0) << pages << " pages: " << Errno(errno);
		struct stat st;
		ASSERT_OK(fstat(fd.get(), &st)) << pages << " pages";
		EXPECT_EQ((uint64_t)st.st_size, pages * page_size()) << pages << " pages";
		EXPECT_EQ((uint64_t)st.st_blksize, page_size()) << pages << " pages";
	}
}

// Spec 3 "Host access": read/write fail, and the file is not seekable.
KVMT_TEST_F(create, read_write_seek_fail)
{
	UniqueFd fd(f.create(gmem_size(), 0));
	ASSERT_TRUE(fd.get() >= 0) << Errno(errno);
	// guest_memfd has no read/write file operations (the VFS answers EINVAL)
	// and is not seekable (ESPIPE for positioned I/O and lseek).
	char buf[16] = {};
	EXPECT_ERRNO(read(fd.get(), buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(write(fd.get(), buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(pread(fd.get(), buf, sizeof(buf), 0), ESPIPE);
	EXPECT_ERRNO(pwrite(fd.get(), buf, sizeof(buf), 0), ESPIPE);
	EXPECT_ERRNO(lseek(fd.get(), 0, SEEK_SET), ESPIPE);
}

// Spec 3 "Host access": ftruncate fails with EINVAL whatever the size.
KVMT_TEST_F(create, ftruncate_einval)
{
	UniqueFd fd(f.create(gmem_size(), 0));
	ASSERT_TRUE(fd.get() >= 0) << Errno(errno);
	for (off_t size : {(off_t)0, (off_t)page_size(), (off_t)gmem_size(), (off_t)(2 * gmem_size())})
		EXPECT_ERRNO(ftruncate(fd.get(), size), EINVAL) << "size " << size;
}

// Spec 3 "Host access": mmap needs GUEST_MEMFD_FLAG_MMAP, else ENODEV.
KVMT_TEST_F(create, mmap_without_mmap_flag_enodev)
{
	UniqueFd fd(f.create(gmem_size(), 0));
	ASSERT_TRUE(fd.get() >= 0) << Errno(errno);
	errno = 0;
	void *p = mmap(nullptr, gmem_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	int err = errno;
	EXPECT_TRUE(p == MAP_FAILED);
	EXPECT_EQ(Errno(err), Errno(ENODEV));
	if (p != MAP_FAILED)
		munmap(p, gmem_size());
}

// An offset or length of fallocate in host pages (half a page, or a few
// bytes more or less, for the unaligned cases); the file is kPages long.
struct Extent {
	uint64_t half_pages;
	int64_t bytes;
	uint64_t value() const { return half_pages * (page_size() / 2) + bytes; }
};
constexpr Extent pages(uint64_t n, int64_t bytes = 0)
{
	return {2 * n, bytes};
}
constexpr Extent kHalfPage = {1, 0};

// fallocate on guest_memfd: the matrix of ../shared/spec/host-kernel.md.
struct FallocateCase {
	const char *name;
	int mode;
	Extent offset, len;
	int expected_errno;
};

constexpr int kPunch = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
const FallocateCase kFallocateCases[] = {
	{"fallocate_mode0_eopnotsupp", 0, pages(0), pages(1), EOPNOTSUPP},
	{"fallocate_keep_size", FALLOC_FL_KEEP_SIZE, pages(0), pages(kPages), 0},
	{"fallocate_keep_size_one_page", FALLOC_FL_KEEP_SIZE, pages(3), pages(1), 0},
	{"fallocate_unaligned_offset_einval", FALLOC_FL_KEEP_SIZE, pages(0, 1), pages(1), EINVAL},
	{"fallocate_unaligned_len_einval", FALLOC_FL_KEEP_SIZE, pages(0), pages(1, 1), EINVAL},
	{"fallocate_past_eof_einval", FALLOC_FL_KEEP_SIZE, pages(kPages), pages(1), EINVAL},
	{"fallocate_straddling_eof_einval", FALLOC_FL_KEEP_SIZE, pages(kPages - 1), pages(2), EINVAL},
	{"punch_hole", kPunch, pages(1), pages(2), 0},
	{"punch_hole_whole_file", kPunch, pages(0), pages(kPages), 0},
	{"punch_hole_at_eof", kPunch, pages(kPages), pages(1), 0},
	{"punch_hole_unaligned_einval", kPunch, kHalfPage, pages(1), EINVAL},
	{"zero_range_eopnotsupp", FALLOC_FL_ZERO_RANGE, pages(0), pages(1), EOPNOTSUPP},
	{"collapse_range_eopnotsupp", FALLOC_FL_COLLAPSE_RANGE, pages(0), pages(1), EOPNOTSUPP},
	{"insert_range_eopnotsupp", FALLOC_FL_INSERT_RANGE, pages(0), pages(1), EOPNOTSUPP},
};

// Spec 3 "Truncation / hole punching": each row's fallocate answers its errno (0: succeeds).
void check_fallocate(const CreateGmem &f, const FallocateCase &c)
{
	UniqueFd fd(f.create(gmem_size(), 0));
	ASSERT_TRUE(fd.get() >= 0) << Errno(errno);
	uint64_t offset = c.offset.value(), len = c.len.value();
	errno = 0;
	int r = fallocate(fd.get(), c.mode, offset, len);
	int err = r ? errno : 0;
	EXPECT_EQ(Errno(err), Errno(c.expected_errno))
		<< "fallocate(mode " << hex(c.mode) << ", offset " << hex(offset) << ", len " << hex(len) << ")";
}

[[maybe_unused]] const bool kFallocateRegistered = [] {
	for (const FallocateCase &c : kFallocateCases)
		register_test({"create", c.name, kDefaultTestTimeout, -1, [&c](const void *data) {
				       check_fallocate(CreateGmem(*static_cast<const VmTypeVariant *>(data)), c);
			       }});
	return true;
}();

// ---------------------------------------------------------------- shared

struct SharedGmem {
	Vm vm;
	GuestMemfd gmem;
	Mapping map;
	explicit SharedGmem(const VmTypeVariant &v)
		: vm(*v.type), gmem((require_guest_memfd(vm, kMmap | kInitShared), vm), gmem_size(),
				    kMmap | kInitShared),
		  map(gmem.map())
	{
	}
	uint8_t *page(uint64_t i) const { return map.data() + i * page_size(); }
};

KVMT_FIXTURE(shared, SharedGmem, VmTypeVariant, vm_type_variants());

// Spec 3 "Contents": a page is zeroed on first allocation, so fresh pages read 0.
KVMT_TEST_F(shared, fresh_pages_read_zero)
{
	assert_zero(f.map.data(), 0, gmem_size());
}

// Spec 3 "Host access": mmap needs MAP_SHARED, else EINVAL.
KVMT_TEST_F(shared, map_private_einval)
{
	void *p = f.gmem.__map(0, gmem_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE);
	int err = errno;
	ASSERT_TRUE(p == MAP_FAILED);
	ASSERT_EQ(Errno(err), Errno(EINVAL));
}

// Every byte written through a shared mapping reads back, through it and through other mappings.
KVMT_TEST_F(shared, write_read_every_byte)
{
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	assert_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	// A second mapping of the same file sees the same bytes.
	Mapping again = f.gmem.map();
	assert_pattern(again.data(), 0, gmem_size(), kSeedA);
	// So does a mapping of a sub-range at a file offset.
	Mapping tail = f.gmem.map(4 * page_size(), 2 * page_size());
	assert_pattern(tail.data(), 4 * page_size(), 2 * page_size(), kSeedA);
}

// Spec 3 "Host access": every page beyond the file size raises SIGBUS, reads and writes alike.
KVMT_TEST_F(shared, beyond_eof_sigbus)
{
	void *p = f.gmem.__map(0, 2 * gmem_size(), PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_TRUE(p != MAP_FAILED) << Errno(errno);
	Mapping big(p, 2 * gmem_size());
	uint8_t *eof = big.data() + gmem_size();
	for (Access a : {Access::Read, Access::Write}) {
		EXPECT_EQ(count_sigbus_pages(eof, gmem_size(), a), kPages) << access_name(a);
		ProbeResult r = probe(eof, a);
		EXPECT_EQ(r.fault_addr, (void *)eof) << access_name(a) << " at EOF";
	}
	EXPECT_EQ(count_sigbus_pages(big.data(), gmem_size(), Access::Read), 0u);
}

// fallocate(KEEP_SIZE) on written pages keeps their data.
KVMT_TEST_F(shared, allocate_keeps_data)
{
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.gmem.allocate(0, gmem_size());
	assert_pattern(f.map.data(), 0, gmem_size(), kSeedA);
}

// Spec 3 "Truncation / hole punching": a punch zeroes its range and nothing else.
KVMT_TEST_F(shared, punch_zeroes_only_the_range)
{
	uint64_t page = page_size();
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.gmem.punch_hole(5 * page, 2 * page);
	assert_pattern(f.map.data(), 0, 5 * page, kSeedA);
	assert_zero(f.page(5), 5 * page, 2 * page);
	assert_pattern(f.page(7), 7 * page, gmem_size() - 7 * page, kSeedA);
}

// Spec 3 "Truncation / hole punching": a punched page takes new data, its neighbours keep theirs.
KVMT_TEST_F(shared, punched_page_takes_new_data)
{
	uint64_t page = page_size();
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.gmem.punch_hole(0, page);
	fill_pattern(f.map.data(), 0, page, kSeedB);
	assert_pattern(f.map.data(), 0, page, kSeedB);
	assert_pattern(f.page(1), page, gmem_size() - page, kSeedA);
}

// Spec 3 "Truncation / hole punching": a punch at EOF succeeds and changes nothing; of the
// whole file, it zeroes every page.
KVMT_TEST_F(shared, punch_whole_file_and_eof)
{
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.gmem.punch_hole(gmem_size(), page_size());
	assert_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.gmem.punch_hole(0, gmem_size());
	assert_zero(f.map.data(), 0, gmem_size());
}

// Two mappings of one gmem page show one PFN, another page another: the in-place
// proof of the conversion tests rests on this (pagemap).
KVMT_TEST_F(shared, two_mappings_share_the_frame)
{
	fill_pattern(f.map.data(), 0, 2 * page_size(), kSeedA);
	Mapping again = f.gmem.map();
	assert_pattern(again.data(), 0, page_size(), kSeedA);  // faults the page in
	std::optional<uint64_t> a = pfn_of(f.map.data()), b = pfn_of(again.data());
	std::optional<uint64_t> other = pfn_of(f.page(1));
	ASSERT_TRUE(a && b && other);
	ASSERT_EQ(*a, *b);
	ASSERT_NE(*a, *other);
}

void peer_sees_host_data(SharedGmem &f, Peer::Kind kind)
{
	uint64_t half = gmem_size() / 2;
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	Peer peer(kind, f.gmem.fd());
	assert_peer_clean(peer.map(gmem_size()), "peer mmap");
	assert_peer_clean(peer.check(0, gmem_size(), kSeedA), "peer reads the host's pattern");
	assert_peer_clean(peer.fill(half, half, kSeedB), "peer writes");
	assert_pattern(f.map.data(), 0, half, kSeedA);
	assert_pattern(f.map.data() + half, half, half, kSeedB);
	f.gmem.punch_hole(0, page_size());
	assert_peer_clean(peer.check_zero(0, page_size()), "peer reads a punched page as zero");
	ASSERT_EQ(peer.finish(), 0);
}

// Spec 3 "State lives in the inode": a forked child sees the host's data and a punch, the
// host sees the child's writes.
KVMT_TEST_F(shared, forked_child_shares_data)
{
	peer_sees_host_data(f, Peer::Kind::ForkedChild);
}

// Spec 3 "State lives in the inode": the same for a process that got the fd over SCM_RIGHTS.
KVMT_TEST_F(shared, scm_rights_process_shares_data)
{
	peer_sees_host_data(f, Peer::Kind::Unrelated);
}

void peer_sigbus_beyond_eof(SharedGmem &f, Peer::Kind kind)
{
	Peer peer(kind, f.gmem.fd());
	assert_peer_clean(peer.map(2 * gmem_size()), "peer mmap beyond EOF");
	for (Access a : {Access::Read, Access::Write}) {
		EXPECT_EQ(peer.probe(gmem_size(), gmem_size(), a).sigbus_pages, kPages)
			<< access_name(a) << " beyond EOF";
		EXPECT_EQ(peer.probe(0, gmem_size(), a).sigbus_pages, 0u) << access_name(a) << " inside";
	}
	ASSERT_EQ(peer.finish(), 0);
}

// Spec 3 "Host access": a forked child SIGBUSes beyond EOF exactly where the host does.
KVMT_TEST_F(shared, forked_child_sigbus_beyond_eof)
{
	peer_sigbus_beyond_eof(f, Peer::Kind::ForkedChild);
}

// Spec 3 "Host access": so does a process that got the fd over SCM_RIGHTS.
KVMT_TEST_F(shared, scm_rights_process_sigbus_beyond_eof)
{
	peer_sigbus_beyond_eof(f, Peer::Kind::Unrelated);
}

// A peer's mapping keeps reading and writing the file after the sender closed its fd,
// its mapping and its VM.
KVMT_TEST_F(shared, scm_rights_mapping_outlives_sender)
{
	std::optional<Peer> peer;
	{
		Vm vm(*v.type);
		GuestMemfd gmem(vm, gmem_size(), kMmap | kInitShared);
		Mapping map = gmem.map();
		fill_pattern(map.data(), 0, gmem_size(), kSeedA);
		peer.emplace(Peer::Kind::Unrelated, gmem.fd());
		assert_peer_clean(peer->map(gmem_size()), "peer mmap");
		assert_peer_clean(peer->close_fd(), "peer closes its fd");
	}  // the sender drops its mapping, its gmem fd and the VM
	assert_peer_clean(peer->check(0, gmem_size(), kSeedA), "peer reads after the sender closed all");
	assert_peer_clean(peer->fill(0, gmem_size(), kSeedB), "peer writes after the sender closed all");
	assert_peer_clean(peer->check(0, gmem_size(), kSeedB), "peer reads back its writes");
	ASSERT_EQ(peer->finish(), 0);
}

// The size a PMD maps (2 MiB with 4 KiB pages).
uint64_t pmd_size()
{
	return page_size() * (page_size() / 8);
}

// A mapping of the whole of gmem at a PMD-aligned address, so that a
// collapse is refused for what the file is, not for the mapping's geometry.
Mapping map_pmd_aligned(const GuestMemfd &gmem)
{
	uint64_t len = gmem.size(), pmd = pmd_size();
	void *p = mmap(nullptr, len + pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		sys_check(-1, "mmap(reservation)");
	uintptr_t start = reinterpret_cast<uintptr_t>(p), aligned = (start + pmd - 1) & ~(pmd - 1);
	if (aligned != start)
		munmap(p, aligned - start);
	munmap(reinterpret_cast<void *>(aligned + len), start + pmd - aligned);
	p = mmap(reinterpret_cast<void *>(aligned), len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 gmem.fd(), 0);
	if (p == MAP_FAILED) {
		int err = errno;
		munmap(reinterpret_cast<void *>(aligned), len);
		errno = err;
		sys_check(-1, "mmap(guest_memfd, MAP_FIXED)");
	}
	return Mapping(p, len);
}

// Spec 3 "Host mapping collapse": MADV_COLLAPSE on a guest_memfd mapping fails with EINVAL,
// and the mapping keeps its data and keeps working.
KVMT_TEST_F(shared, collapse_einval_mapping_keeps_working)
{
	uint64_t len = pmd_size();
	GuestMemfd gmem(f.vm, len, kMmap | kInitShared);
	Mapping map = map_pmd_aligned(gmem);
	fill_pattern(map.data(), 0, len, kSeedA);
	ASSERT_ERRNO(madvise(map.data(), len, MADV_COLLAPSE), EINVAL);
	assert_pattern(map.data(), 0, len, kSeedA);
	for (Access a : {Access::Read, Access::Write})
		EXPECT_EQ(count_sigbus_pages(map.data(), len, a), 0u) << access_name(a);
	fill_pattern(map.data(), 0, len, kSeedB);
	assert_pattern(map.data(), 0, len, kSeedB);
}

// ---------------------------------------------------------------- private

struct PrivateGmem {
	Vm vm;
	GuestMemfd gmem;
	Mapping map;
	explicit PrivateGmem(const VmTypeVariant &v)
		: vm(*v.type), gmem((require_guest_memfd(vm, kMmap), vm), gmem_size(), kMmap),
		  map(gmem.map())
	{
	}
};

KVMT_FIXTURE(private, PrivateGmem, VmTypeVariant, vm_type_variants());

// Each page of the mapping at base raises SIGBUS (BUS_ADRERR, at the page) on access a.
void expect_all_pages_sigbus(uint8_t *base, Access a, Where where = Where::here())
{
	for (uint64_t page = 0; page < kPages; page++) {
		uint8_t *addr = base + page * page_size();
		ProbeResult r = probe(addr, a, 0x5a);
		EXPECT_TRUE(r.sigbus) << where << access_name(a) << " of page " << page;
		if (!r.sigbus)
			continue;
		EXPECT_EQ(r.si_code, BUS_ADRERR) << where << access_name(a) << " of page " << page;
		EXPECT_EQ(r.fault_addr, (void *)addr) << where << access_name(a) << " of page " << page;
	}
}

// Spec 3 "Host access": a host read of a private page raises SIGBUS.
KVMT_TEST_F(private, host_read_sigbus)
{
	expect_all_pages_sigbus(f.map.data(), Access::Read);
}

// Spec 3 "Host access": a host write of a private page raises SIGBUS.
KVMT_TEST_F(private, host_write_sigbus)
{
	expect_all_pages_sigbus(f.map.data(), Access::Write);
}

// Spec 3 "Host access": allocated private pages SIGBUS as well.
KVMT_TEST_F(private, sigbus_after_allocate)
{
	f.gmem.allocate(0, gmem_size());
	expect_all_pages_sigbus(f.map.data(), Access::Read);
	expect_all_pages_sigbus(f.map.data(), Access::Write);
}

// Spec 3 "Truncation / hole punching": a punch keeps pages private, so they still SIGBUS.
KVMT_TEST_F(private, sigbus_after_punch)
{
	f.gmem.allocate(0, gmem_size());
	f.gmem.punch_hole(0, gmem_size());
	expect_all_pages_sigbus(f.map.data(), Access::Read);
}

void peer_sigbus_on_private(PrivateGmem &f, Peer::Kind kind)
{
	Peer peer(kind, f.gmem.fd());
	assert_peer_clean(peer.map(gmem_size()), "peer mmap");
	for (Access a : {Access::Read, Access::Write})
		EXPECT_EQ(peer.probe(0, gmem_size(), a).sigbus_pages, kPages) << access_name(a);
	ASSERT_EQ(peer.finish(), 0);
}

// Spec 3 "Host access": private pages SIGBUS in a forked child too.
KVMT_TEST_F(private, forked_child_sigbus)
{
	peer_sigbus_on_private(f, Peer::Kind::ForkedChild);
}

// Spec 3 "Host access": and in a process that got the fd over SCM_RIGHTS.
KVMT_TEST_F(private, scm_rights_process_sigbus)
{
	peer_sigbus_on_private(f, Peer::Kind::Unrelated);
}

// ---------------------------------------------------------------- bind

// Pages [first, first + count) of a gmem.
struct PageRange {
	uint64_t first, count;
	uint64_t offset() const { return first * page_size(); }
	uint64_t size() const { return count * page_size(); }
};

constexpr uint32_t kFirstSlot = 1, kSecondSlot = 2, kProbeSlot = 3;
constexpr PageRange kFirstRange = {4, 8};

// The gmem's flags for binding tests: MMAP when offered, so that
// userspace_addr can be the gmem's own mapping.
uint64_t binding_gmem_flags(const Vm &vm)
{
	require_guest_memfd(vm, 0);
	return vm.guest_memfd_flags() & kMmap;
}

// One gmem that memslots of one VM bind ranges of, each memslot at its own GPA.
struct BindGmem {
	Vm vm;
	GuestMemfd gmem;
	Mapping backing;  // userspace_addr: the gmem's mapping, else anonymous memory
	explicit BindGmem(const VmTypeVariant &v)
		: vm(*v.type), gmem(vm, gmem_size(), binding_gmem_flags(vm)),
		  backing(gmem.flags() & kMmap ? gmem.map() : Mapping::anonymous(gmem_size()))
	{
	}
	Memslot memslot(uint32_t slot, PageRange r) const
	{
		uint64_t gpa = kTestGpaBase + slot * (64ULL << 20);
		return {slot, 0, gpa, r.size(), backing.data() + r.offset(), gmem.fd(), r.offset()};
	}
	int __bind(uint32_t slot, PageRange r) { return vm.__set_memslot(memslot(slot, r)); }
	void bind(uint32_t slot, PageRange r) { vm.set_memslot(memslot(slot, r)); }
};

KVMT_FIXTURE(bind, BindGmem, VmTypeVariant, vm_type_variants());

// A range that some memslot binds cannot be bound again: a new memslot over it gives EEXIST.
void expect_bound(BindGmem &f, PageRange r, const char *what, Where where = Where::here())
{
	int err = f.__bind(kProbeSlot, r);
	if (!err)  // wrongly bound: gone again, so that the next probe starts clean
		f.vm.__set_memslot({kProbeSlot, 0, 0, 0, nullptr, -1, 0});
	EXPECT_EQ(Errno(err), Errno(EEXIST))
		<< where << what << " (pages " << r.first << "+" << r.count << ") is not bound";
}

// A second memslot over a range of the gmem the first memslot binds pages 4..11 of.
struct SecondBinding {
	const char *name;
	PageRange range;
	int expected_errno;  // 0: bound
};

const SecondBinding kSecondBindings[] = {
	{"second_binding_same_range_eexist", {4, 8}, EEXIST},
	{"second_binding_overlapping_head_eexist", {0, 5}, EEXIST},
	{"second_binding_overlapping_tail_eexist", {11, 5}, EEXIST},
	{"second_binding_inside_eexist", {6, 2}, EEXIST},
	{"second_binding_enclosing_eexist", {0, kPages}, EEXIST},
	{"second_binding_disjoint_below", {0, 4}, 0},
	{"second_binding_disjoint_above", {12, 4}, 0},
};

// Spec 3 "Memslot bindings (v13)": a second memslot over a bound range gives EEXIST and
// leaves the first binding as it was; once the first memslot is deleted the range binds.
// A disjoint range of the same gmem binds beside the first.
KVMT_TEST_F_TABLE(bind, kSecondBindings, SecondBinding, row)
{
	f.bind(kFirstSlot, kFirstRange);
	ASSERT_EQ(Errno(f.__bind(kSecondSlot, row.range)), Errno(row.expected_errno))
		<< "pages " << row.range.first << "+" << row.range.count;
	expect_bound(f, kFirstRange, "the first memslot's range");
	if (row.expected_errno == 0) {
		expect_bound(f, row.range, "the second memslot's range");
		return;
	}
	f.vm.delete_memslot(kFirstSlot);
	// A refused binding that left a trace of itself would refuse this one.
	ASSERT_EQ(Errno(f.__bind(kSecondSlot, row.range)), Errno(0))
		<< "after the first memslot was deleted";
}

// ---------------------------------------------------------------- guest

constexpr uint32_t kGmemSlot = 1;

// A guest and the host on the same pages: the memslot's userspace_addr is
// the gmem's own mapping (in-place), and the guest maps it at GVA = GPA.
struct GuestOnGmem {
	GuestVm tvm;
	GuestMemfd gmem;
	Mapping map;
	explicit GuestOnGmem(const VmTypeVariant &v)
		: tvm(*v.type),
		  gmem((require_guest_memfd(tvm.vm(), kMmap | kInitShared), tvm.vm()), gmem_size(),
		       kMmap | kInitShared),
		  map(gmem.map())
	{
		tvm.add_gmem_slot(kGmemSlot, kTestGpaBase, gmem_size(), gmem.fd(), 0, map.data());
	}

	GuestAccessPlan &plan(int i) { return tvm.guest_global(guest_access_plans[i]); }
	// Plan i covers pages [first, first + count) of the gmem.
	void set_range(int i, uint64_t first, uint64_t count)
	{
		plan(i) = {};
		plan(i).gva = kTestGpaBase + first * page_size();
		plan(i).len = count * page_size();
		plan(i).file_offset = first * page_size();
	}
};

KVMT_FIXTURE(guest, GuestOnGmem, VmTypeVariant, vm_type_variants());

// The host fills the gmem with kSeedA's pattern, the guest checks it and
// writes kSeedB's, which the host then reads through its mapping.
void guest_reads_host_pattern_and_writes_back(GuestOnGmem &f)
{
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.set_range(0, 0, kPages);
	f.plan(0).expect = kExpectPattern;
	f.plan(0).expect_seed = kSeedA;
	f.plan(0).write_seed = kSeedB;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
	assert_pattern(f.map.data(), 0, gmem_size(), kSeedB);
}

// The guest reads what the host wrote to the same pages, and the host what the guest wrote.
KVMT_TEST_F(guest, reads_host_pattern_and_writes_back)
{
	guest_reads_host_pattern_and_writes_back(f);
}

// Spec 3 "Contents": fresh guest_memfd pages read 0 from the guest.
KVMT_TEST_F(guest, fresh_memory_reads_zero)
{
	f.set_range(0, 0, kPages);
	f.plan(0).expect = kExpectZero;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
}

// Spec 3 "Truncation / hole punching": after a host punch the guest reads 0 there, data elsewhere.
KVMT_TEST_F(guest, reads_zero_after_punch)
{
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	f.set_range(0, 0, kPages);
	f.plan(0).expect = kExpectPattern;
	f.plan(0).expect_seed = kSeedA;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);

	f.gmem.punch_hole(3 * page_size(), 2 * page_size());
	f.plan(0).zero_mask = (1ULL << 3) | (1ULL << 4);
	f.tvm.run_to_sync(vcpu, 0);
}

// After a punch the host reads 0, and the guest's new writes land in the fresh pages the host maps.
KVMT_TEST_F(guest, host_sees_guest_writes_after_punch)
{
	f.set_range(0, 0, kPages);
	f.plan(0).write_seed = kSeedA;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
	assert_pattern(f.map.data(), 0, gmem_size(), kSeedA);

	f.gmem.punch_hole(0, gmem_size());
	assert_zero(f.map.data(), 0, gmem_size());
	f.plan(0).expect = kExpectZero;
	f.plan(0).write_seed = kSeedB;
	f.tvm.run_to_sync(vcpu, 0);
	assert_pattern(f.map.data(), 0, gmem_size(), kSeedB);
}

// vCPUs in threads, each on its own pages of one gmem, read the host's data and write their own.
KVMT_TEST_F(guest, several_vcpus_on_separate_pages)
{
	constexpr int kVcpus = 4;
	constexpr uint64_t kPagesEach = kPages / kVcpus;
	fill_pattern(f.map.data(), 0, gmem_size(), kSeedA);
	for (int i = 0; i < kVcpus; i++) {
		f.set_range(i, i * kPagesEach, kPagesEach);
		f.plan(i).expect = kExpectPattern;
		f.plan(i).expect_seed = kSeedA;
		f.plan(i).write_seed = kSeedB + i;
		f.tvm.add_vcpu(guest_access_rounds, i);
	}
	run_in_threads(kVcpus, [&](int i) { f.tvm.run_to_sync(f.tvm.vcpu(i), i); });
	uint64_t bytes_each = kPagesEach * page_size();
	for (int i = 0; i < kVcpus; i++)
		assert_pattern(f.map.data() + i * bytes_each, i * bytes_each, bytes_each, kSeedB + i);
}

// Spec 3 "Memslot bindings (v13)": a refused second binding changes nothing for the guest,
// which reads and writes through the first memslot as before.
KVMT_TEST_F(guest, refused_second_binding_keeps_the_first)
{
	Memslot second = {kGmemSlot + 1, 0, kTestGpaBase + 2 * gmem_size(), gmem_size(),
			  f.map.data(), f.gmem.fd(), 0};
	ASSERT_EQ(Errno(f.tvm.vm().__set_memslot(second)), Errno(EEXIST));
	guest_reads_host_pattern_and_writes_back(f);
}

constexpr uint32_t kDecoySlot = 2;
constexpr uint64_t kDecoyPages = 4;  // one guest page-ops round (kGuestOpsMaxPages)

// Spec 3 "Guest side" (guest_memfd-only memslots, 6.18): on a MMAP gmem's memslot whose
// userspace_addr is other memory, the guest reads and writes the gmem, never that memory.
KVMT_TEST_F(guest, gmem_only_slot_ignores_userspace_addr)
{
	require_native_guest_code("a guest_memfd-only memslot");
	uint64_t size = kDecoyPages * page_size(), gpa = kTestGpaBase + gmem_size();
	// A gmem of its own: the fixture's is bound already, and a range binds one memslot only.
	GuestMemfd gmem(f.tvm.vm(), size, kMmap | kInitShared);
	Mapping map = gmem.map();
	DecoyMemory decoy(size);
	fill_pattern(map.data(), 0, size, kSeedA);
	f.tvm.add_gmem_slot(kDecoySlot, gpa, size, gmem.fd(), 0, decoy.hva());

	GuestPages guest(f.tvm, 0, gpa);
	std::vector<PageContent> host_pattern(kDecoyPages, PageContent::pattern(kSeedA));
	GuestPagesResult r = guest.run(0, kDecoyPages, host_pattern, PageContent::pattern(kSeedB));
	ASSERT_FALSE(r.mismatch) << describe_guest_read(r);
	assert_pattern(map.data(), 0, size, kSeedB);
	std::string change = decoy.first_change();
	ASSERT_TRUE(change.empty()) << change;
}

}  // namespace
