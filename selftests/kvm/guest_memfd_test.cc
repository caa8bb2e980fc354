// guest_memfd as the running kernel offers it without per-gmem attributes:
// creation, file semantics, host mappings, hole punching, other processes,
// and a guest that reads and writes the same pages as the host.
//
// Fixtures (each with a variant per known VM type):
//   create   creation flags and sizes, file operations, fallocate
//   shared   MMAP|INIT_SHARED: host reads/writes, punch, fork, SCM_RIGHTS
//   private  MMAP without INIT_SHARED: every host access raises SIGBUS
//   guest    a guest and the host on the same in-place shared pages
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <optional>

#include "guest_access.hh"
#include "guest_memfd.hh"
#include "pagemap.hh"
#include "pattern.hh"
#include "peer.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "test.hh"
#include "test_vm.hh"
#include "threads.hh"
#include "vm.hh"
#include "hex.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 16;
constexpr uint64_t kSize = kPages * kPage;
constexpr uint64_t kMmap = GUEST_MEMFD_FLAG_MMAP;
constexpr uint64_t kInitShared = GUEST_MEMFD_FLAG_INIT_SHARED;
constexpr uint64_t kSeedA = 0xa11ce, kSeedB = 0xb0b;

void expect_pattern(const uint8_t *base, uint64_t file_offset, uint64_t len, uint64_t seed)
{
	int64_t bad = find_pattern_mismatch(base, file_offset, len, seed);
	if (bad >= 0)
		record_failure(__FILE__, __LINE__,
			       "byte at gmem offset " + hex(file_offset + bad) + " is " +
				       hex(base[bad]) + ", expected " +
				       hex(pattern_byte(seed, file_offset + bad)));
	ASSERT_EQ(bad, -1);
}

void expect_zero(const uint8_t *base, uint64_t file_offset, uint64_t len)
{
	int64_t bad = find_nonzero(base, len);
	if (bad >= 0)
		record_failure(__FILE__, __LINE__,
			       "byte at gmem offset " + hex(file_offset + bad) + " is " +
				       hex(base[bad]) + ", expected 0");
	ASSERT_EQ(bad, -1);
}

void expect_peer_clean(const PeerReply &r, const char *what)
{
	if (r.err || r.sigbus_pages || r.mismatches)
		record_failure(__FILE__, __LINE__,
			       std::string(what) + ": errno " + errno_name(r.err) + ", " +
				       std::to_string(r.sigbus_pages) + " SIGBUS pages, " +
				       std::to_string(r.mismatches) + " wrong bytes, first at " +
				       hex(r.first_bad) + " (expected " + hex(r.expected) +
				       ", seen " + hex(r.seen) + ")");
	ASSERT_EQ(r.err, 0);
	ASSERT_EQ(r.sigbus_pages, 0u);
	ASSERT_EQ(r.mismatches, 0u);
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
	int create(uint64_t size, uint64_t flags) { return __create_guest_memfd(vm.fd(), size, flags); }
};

KVMT_FIXTURE(create, CreateGmem, VmTypeVariant, vm_type_variants());

KVMT_TEST_F(create, offered_flags_are_known)
{
	ASSERT_EQ(f.offered & ~(kMmap | kInitShared), 0u);
	if (f.offered & kInitShared)
		ASSERT_TRUE(f.offered & kMmap);
}

KVMT_TEST_F(create, every_offered_flag_combination)
{
	for (uint64_t flags = 0; flags <= f.offered; flags++) {
		if (flags & ~f.offered)
			continue;
		int fd = f.create(kSize, flags);
		EXPECT_TRUE(fd >= 0);
		if (fd < 0)
			test_log("flags " + gmem_flags_name(flags) + ": " + errno_name(errno));
		else
			close(fd);
	}
}

KVMT_TEST_F(create, every_other_flag_bit_einval)
{
	for (int bit = 0; bit < 64; bit++) {
		uint64_t flag = 1ULL << bit;
		if (f.offered & flag)
			continue;
		errno = 0;
		int fd = f.create(kSize, flag);
		if (fd >= 0 || errno != EINVAL)
			test_log("flag bit " + std::to_string(bit) + ": " + result_text(fd, errno));
		EXPECT_TRUE(fd < 0 && errno == EINVAL);
		if (fd >= 0)
			close(fd);
	}
}

KVMT_TEST_F(create, size_zero_einval)
{
	ASSERT_ERRNO(f.create(0, 0), EINVAL);
}

KVMT_TEST_F(create, size_unaligned_einval)
{
	for (uint64_t size : {(uint64_t)1, kPage - 1, kPage + 1, kSize - 1, kSize + kPage / 2})
		EXPECT_ERRNO(f.create(size, 0), EINVAL);
}

KVMT_TEST_F(create, size_negative_einval)
{
	ASSERT_ERRNO(f.create(-kPage, 0), EINVAL);
	ASSERT_ERRNO(f.create(1ULL << 63, 0), EINVAL);
}

KVMT_TEST_F(create, size_one_tib)
{
	// Nothing is charged at creation, so a 1 TiB file is just a size.
	UniqueFd fd(f.create(1ULL << 40, 0));
	ASSERT_TRUE(fd.get() >= 0);
	struct stat st;
	ASSERT_OK(fstat(fd.get(), &st));
	ASSERT_EQ((uint64_t)st.st_size, 1ULL << 40);
}

KVMT_TEST_F(create, distinct_inodes)
{
	constexpr int kFiles = 4;
	UniqueFd fds[kFiles];
	struct stat st[kFiles];
	for (int i = 0; i < kFiles; i++) {
		fds[i].reset(f.create(kSize, 0));
		ASSERT_TRUE(fds[i].get() >= 0);
		ASSERT_OK(fstat(fds[i].get(), &st[i]));
	}
	for (int i = 0; i < kFiles; i++)
		for (int j = i + 1; j < kFiles; j++) {
			EXPECT_NE(st[i].st_ino, st[j].st_ino);
			EXPECT_EQ(st[i].st_dev, st[j].st_dev);
		}
}

KVMT_TEST_F(create, fstat_size_and_block_size)
{
	for (uint64_t pages : {(uint64_t)1, kPages, (uint64_t)512}) {
		UniqueFd fd(f.create(pages * kPage, 0));
		ASSERT_TRUE(fd.get() >= 0);
		struct stat st;
		ASSERT_OK(fstat(fd.get(), &st));
		EXPECT_EQ((uint64_t)st.st_size, pages * kPage);
		EXPECT_EQ((uint64_t)st.st_blksize, (uint64_t)getpagesize());
	}
}

KVMT_TEST_F(create, read_write_seek_fail)
{
	UniqueFd fd(f.create(kSize, 0));
	ASSERT_TRUE(fd.get() >= 0);
	// guest_memfd has no read/write file operations (the VFS answers EINVAL)
	// and is not seekable (ESPIPE for positioned I/O and lseek).
	char buf[16] = {};
	EXPECT_ERRNO(read(fd.get(), buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(write(fd.get(), buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(pread(fd.get(), buf, sizeof(buf), 0), ESPIPE);
	EXPECT_ERRNO(pwrite(fd.get(), buf, sizeof(buf), 0), ESPIPE);
	EXPECT_ERRNO(lseek(fd.get(), 0, SEEK_SET), ESPIPE);
}

KVMT_TEST_F(create, ftruncate_einval)
{
	UniqueFd fd(f.create(kSize, 0));
	ASSERT_TRUE(fd.get() >= 0);
	for (off_t size : {(off_t)0, (off_t)kPage, (off_t)kSize, (off_t)(2 * kSize)})
		EXPECT_ERRNO(ftruncate(fd.get(), size), EINVAL);
}

KVMT_TEST_F(create, mmap_without_mmap_flag_enodev)
{
	UniqueFd fd(f.create(kSize, 0));
	ASSERT_TRUE(fd.get() >= 0);
	errno = 0;
	void *p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	EXPECT_TRUE(p == MAP_FAILED);
	EXPECT_EQ(errno_name(errno), errno_name(ENODEV));
	if (p != MAP_FAILED)
		munmap(p, kSize);
}

// fallocate on guest_memfd: the matrix of ../shared/spec/host-kernel.md.
struct FallocateCase {
	const char *name;
	int mode;
	uint64_t offset, len;
	int expected_errno;
};

const FallocateCase kFallocateCases[] = {
	{"fallocate_mode0_eopnotsupp", 0, 0, kPage, EOPNOTSUPP},
	{"fallocate_keep_size", FALLOC_FL_KEEP_SIZE, 0, kSize, 0},
	{"fallocate_keep_size_one_page", FALLOC_FL_KEEP_SIZE, 3 * kPage, kPage, 0},
	{"fallocate_unaligned_offset_einval", FALLOC_FL_KEEP_SIZE, 1, kPage, EINVAL},
	{"fallocate_unaligned_len_einval", FALLOC_FL_KEEP_SIZE, 0, kPage + 1, EINVAL},
	{"fallocate_past_eof_einval", FALLOC_FL_KEEP_SIZE, kSize, kPage, EINVAL},
	{"fallocate_straddling_eof_einval", FALLOC_FL_KEEP_SIZE, kSize - kPage, 2 * kPage, EINVAL},
	{"punch_hole", FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, kPage, 2 * kPage, 0},
	{"punch_hole_whole_file", FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, kSize, 0},
	{"punch_hole_at_eof", FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, kSize, kPage, 0},
	{"punch_hole_unaligned_einval", FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, kPage / 2, kPage, EINVAL},
	{"zero_range_eopnotsupp", FALLOC_FL_ZERO_RANGE, 0, kPage, EOPNOTSUPP},
	{"collapse_range_eopnotsupp", FALLOC_FL_COLLAPSE_RANGE, 0, kPage, EOPNOTSUPP},
	{"insert_range_eopnotsupp", FALLOC_FL_INSERT_RANGE, 0, kPage, EOPNOTSUPP},
};

[[maybe_unused]] const bool kFallocateRegistered = [] {
	for (const FallocateCase &c : kFallocateCases)
		register_test({"create", c.name, kDefaultTestTimeout, -1, [&c](const void *data) {
				       CreateGmem f(*static_cast<const VmTypeVariant *>(data));
				       UniqueFd fd(f.create(kSize, 0));
				       ASSERT_TRUE(fd.get() >= 0);
				       errno = 0;
				       int r = fallocate(fd.get(), c.mode, c.offset, c.len);
				       int err = r ? errno : 0;
				       EXPECT_EQ(errno_name(err), errno_name(c.expected_errno));
			       }});
	return true;
}();

// ---------------------------------------------------------------- shared

struct SharedGmem {
	Vm vm;
	GuestMemfd gmem;
	Mapping map;
	explicit SharedGmem(const VmTypeVariant &v)
		: vm(*v.type), gmem((require_guest_memfd(vm, kMmap | kInitShared), vm), kSize,
				    kMmap | kInitShared),
		  map(gmem.map())
	{
	}
};

KVMT_FIXTURE(shared, SharedGmem, VmTypeVariant, vm_type_variants());

KVMT_TEST_F(shared, fresh_pages_read_zero)
{
	expect_zero(f.map.data(), 0, kSize);
}

KVMT_TEST_F(shared, map_private_einval)
{
	ASSERT_TRUE(f.gmem.__map(0, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE) == MAP_FAILED);
	ASSERT_EQ(errno_name(errno), errno_name(EINVAL));
}

KVMT_TEST_F(shared, write_read_every_byte)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	expect_pattern(f.map.data(), 0, kSize, kSeedA);
	// A second mapping of the same file sees the same bytes.
	Mapping again = f.gmem.map();
	expect_pattern(again.data(), 0, kSize, kSeedA);
	// So does a mapping of a sub-range at a file offset.
	Mapping tail = f.gmem.map(4 * kPage, 2 * kPage);
	expect_pattern(tail.data(), 4 * kPage, 2 * kPage, kSeedA);
}

KVMT_TEST_F(shared, beyond_eof_sigbus)
{
	void *p = f.gmem.__map(0, 2 * kSize, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_TRUE(p != MAP_FAILED);
	Mapping big(p, 2 * kSize);
	for (Access a : {Access::Read, Access::Write}) {
		EXPECT_EQ(count_sigbus_pages(big.data() + kSize, kSize, a), kPages);
		ProbeResult r = probe(big.data() + kSize, a);
		EXPECT_EQ(r.fault_addr, (void *)(big.data() + kSize));
	}
	EXPECT_EQ(count_sigbus_pages(big.data(), kSize, Access::Read), 0u);
}

KVMT_TEST_F(shared, allocate_keeps_data)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem.allocate(0, kSize);
	expect_pattern(f.map.data(), 0, kSize, kSeedA);
}

KVMT_TEST_F(shared, punch_zeroes_only_the_range)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem.punch_hole(5 * kPage, 2 * kPage);
	expect_pattern(f.map.data(), 0, 5 * kPage, kSeedA);
	expect_zero(f.map.data() + 5 * kPage, 5 * kPage, 2 * kPage);
	expect_pattern(f.map.data() + 7 * kPage, 7 * kPage, kSize - 7 * kPage, kSeedA);
}

KVMT_TEST_F(shared, punched_page_takes_new_data)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem.punch_hole(0, kPage);
	fill_pattern(f.map.data(), 0, kPage, kSeedB);
	expect_pattern(f.map.data(), 0, kPage, kSeedB);
	expect_pattern(f.map.data() + kPage, kPage, kSize - kPage, kSeedA);
}

KVMT_TEST_F(shared, punch_whole_file_and_eof)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem.punch_hole(kSize, kPage);
	expect_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem.punch_hole(0, kSize);
	expect_zero(f.map.data(), 0, kSize);
}

KVMT_TEST_F(shared, two_mappings_share_the_frame)
{
	// The in-place proof of the conversion tests rests on pagemap: two
	// mappings of one gmem page must show one PFN, a different page another.
	fill_pattern(f.map.data(), 0, 2 * kPage, kSeedA);
	Mapping again = f.gmem.map();
	expect_pattern(again.data(), 0, kPage, kSeedA);  // faults the page in
	std::optional<uint64_t> a = pfn_of(f.map.data()), b = pfn_of(again.data());
	std::optional<uint64_t> other = pfn_of(f.map.data() + kPage);
	ASSERT_TRUE(a && b && other);
	ASSERT_EQ(*a, *b);
	ASSERT_NE(*a, *other);
}

void peer_sees_host_data(SharedGmem &f, Peer::Kind kind)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	Peer peer(kind, f.gmem.fd());
	expect_peer_clean(peer.map(kSize), "peer mmap");
	expect_peer_clean(peer.check(0, kSize, kSeedA), "peer reads the host's pattern");
	expect_peer_clean(peer.fill(kSize / 2, kSize / 2, kSeedB), "peer writes");
	expect_pattern(f.map.data(), 0, kSize / 2, kSeedA);
	expect_pattern(f.map.data() + kSize / 2, kSize / 2, kSize / 2, kSeedB);
	f.gmem.punch_hole(0, kPage);
	expect_peer_clean(peer.check_zero(0, kPage), "peer reads a punched page as zero");
	ASSERT_EQ(peer.finish(), 0);
}

KVMT_TEST_F(shared, forked_child_shares_data)
{
	peer_sees_host_data(f, Peer::Kind::ForkedChild);
}

KVMT_TEST_F(shared, scm_rights_process_shares_data)
{
	peer_sees_host_data(f, Peer::Kind::Unrelated);
}

void peer_sigbus_beyond_eof(SharedGmem &f, Peer::Kind kind)
{
	Peer peer(kind, f.gmem.fd());
	expect_peer_clean(peer.map(2 * kSize), "peer mmap beyond EOF");
	for (Access a : {Access::Read, Access::Write}) {
		PeerReply r = peer.probe(kSize, kSize, a);
		EXPECT_EQ(r.sigbus_pages, kPages);
		EXPECT_EQ(peer.probe(0, kSize, a).sigbus_pages, 0u);
	}
	ASSERT_EQ(peer.finish(), 0);
}

KVMT_TEST_F(shared, forked_child_sigbus_beyond_eof)
{
	peer_sigbus_beyond_eof(f, Peer::Kind::ForkedChild);
}

KVMT_TEST_F(shared, scm_rights_process_sigbus_beyond_eof)
{
	peer_sigbus_beyond_eof(f, Peer::Kind::Unrelated);
}

KVMT_TEST_F(shared, scm_rights_mapping_outlives_sender)
{
	std::optional<Peer> peer;
	{
		Vm vm(*v.type);
		GuestMemfd gmem(vm, kSize, kMmap | kInitShared);
		Mapping map = gmem.map();
		fill_pattern(map.data(), 0, kSize, kSeedA);
		peer.emplace(Peer::Kind::Unrelated, gmem.fd());
		expect_peer_clean(peer->map(kSize), "peer mmap");
		expect_peer_clean(peer->close_fd(), "peer closes its fd");
	}  // the sender drops its mapping, its gmem fd and the VM
	expect_peer_clean(peer->check(0, kSize, kSeedA), "peer reads after the sender closed all");
	expect_peer_clean(peer->fill(0, kSize, kSeedB), "peer writes after the sender closed all");
	expect_peer_clean(peer->check(0, kSize, kSeedB), "peer reads back its writes");
	ASSERT_EQ(peer->finish(), 0);
}

// ---------------------------------------------------------------- private

struct PrivateGmem {
	Vm vm;
	GuestMemfd gmem;
	Mapping map;
	explicit PrivateGmem(const VmTypeVariant &v)
		: vm(*v.type), gmem((require_guest_memfd(vm, kMmap), vm), kSize, kMmap),
		  map(gmem.map())
	{
	}
};

KVMT_FIXTURE(private, PrivateGmem, VmTypeVariant, vm_type_variants());

void expect_all_pages_sigbus(uint8_t *base, Access a)
{
	for (uint64_t off = 0; off < kSize; off += kPage) {
		ProbeResult r = probe(base + off, a, 0x5a);
		EXPECT_TRUE(r.sigbus);
		if (r.sigbus) {
			EXPECT_EQ(r.si_code, BUS_ADRERR);
			EXPECT_EQ(r.fault_addr, (void *)(base + off));
		} else {
			test_log(std::string("no SIGBUS on ") + access_name(a) + " at offset " + hex(off));
		}
	}
}

KVMT_TEST_F(private, host_read_sigbus)
{
	expect_all_pages_sigbus(f.map.data(), Access::Read);
}

KVMT_TEST_F(private, host_write_sigbus)
{
	expect_all_pages_sigbus(f.map.data(), Access::Write);
}

KVMT_TEST_F(private, sigbus_after_allocate)
{
	f.gmem.allocate(0, kSize);
	expect_all_pages_sigbus(f.map.data(), Access::Read);
	expect_all_pages_sigbus(f.map.data(), Access::Write);
}

KVMT_TEST_F(private, sigbus_after_punch)
{
	f.gmem.allocate(0, kSize);
	f.gmem.punch_hole(0, kSize);
	expect_all_pages_sigbus(f.map.data(), Access::Read);
}

void peer_sigbus_on_private(PrivateGmem &f, Peer::Kind kind)
{
	Peer peer(kind, f.gmem.fd());
	expect_peer_clean(peer.map(kSize), "peer mmap");
	EXPECT_EQ(peer.probe(0, kSize, Access::Read).sigbus_pages, kPages);
	EXPECT_EQ(peer.probe(0, kSize, Access::Write).sigbus_pages, kPages);
	ASSERT_EQ(peer.finish(), 0);
}

KVMT_TEST_F(private, forked_child_sigbus)
{
	peer_sigbus_on_private(f, Peer::Kind::ForkedChild);
}

KVMT_TEST_F(private, scm_rights_process_sigbus)
{
	peer_sigbus_on_private(f, Peer::Kind::Unrelated);
}

// ---------------------------------------------------------------- guest

constexpr uint32_t kGmemSlot = 1;

// A guest and the host on the same pages: the memslot's userspace_addr is
// the gmem's own mapping (in-place), and the guest maps it at GVA = GPA.
struct GuestOnGmem {
	TestVm tvm;
	GuestMemfd gmem;
	Mapping map;
	explicit GuestOnGmem(const VmTypeVariant &v)
		: tvm(*v.type),
		  gmem((require_guest_memfd(tvm.vm(), kMmap | kInitShared), tvm.vm()), kSize,
		       kMmap | kInitShared),
		  map(gmem.map())
	{
		tvm.add_gmem_slot(kGmemSlot, kTestGpaBase, kSize, gmem, 0, map.data());
	}

	GuestAccessPlan &plan(int i) { return tvm.guest_global(guest_access_plans[i]); }
	// Plan i covers pages [first, first + count) of the gmem.
	void set_range(int i, uint64_t first, uint64_t count)
	{
		plan(i) = {};
		plan(i).gva = kTestGpaBase + first * kPage;
		plan(i).len = count * kPage;
		plan(i).file_offset = first * kPage;
	}
};

KVMT_FIXTURE(guest, GuestOnGmem, VmTypeVariant, vm_type_variants());

KVMT_TEST_F(guest, reads_host_pattern_and_writes_back)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.set_range(0, 0, kPages);
	f.plan(0).expect = kExpectPattern;
	f.plan(0).expect_seed = kSeedA;
	f.plan(0).write_seed = kSeedB;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
	expect_pattern(f.map.data(), 0, kSize, kSeedB);
}

KVMT_TEST_F(guest, fresh_memory_reads_zero)
{
	f.set_range(0, 0, kPages);
	f.plan(0).expect = kExpectZero;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
}

KVMT_TEST_F(guest, reads_zero_after_punch)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.set_range(0, 0, kPages);
	f.plan(0).expect = kExpectPattern;
	f.plan(0).expect_seed = kSeedA;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);

	f.gmem.punch_hole(3 * kPage, 2 * kPage);
	f.plan(0).zero_mask = (1ULL << 3) | (1ULL << 4);
	f.tvm.run_to_sync(vcpu, 0);
}

KVMT_TEST_F(guest, host_sees_guest_writes_after_punch)
{
	f.set_range(0, 0, kPages);
	f.plan(0).write_seed = kSeedA;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
	expect_pattern(f.map.data(), 0, kSize, kSeedA);

	f.gmem.punch_hole(0, kSize);
	expect_zero(f.map.data(), 0, kSize);
	f.plan(0).expect = kExpectZero;
	f.plan(0).write_seed = kSeedB;
	f.tvm.run_to_sync(vcpu, 0);
	expect_pattern(f.map.data(), 0, kSize, kSeedB);
}

KVMT_TEST_F(guest, several_vcpus_on_separate_pages)
{
	constexpr int kVcpus = 4;
	constexpr uint64_t kPagesEach = kPages / kVcpus;
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	for (int i = 0; i < kVcpus; i++) {
		f.set_range(i, i * kPagesEach, kPagesEach);
		f.plan(i).expect = kExpectPattern;
		f.plan(i).expect_seed = kSeedA;
		f.plan(i).write_seed = kSeedB + i;
		f.tvm.add_vcpu(guest_access_rounds, i);
	}
	run_in_threads(kVcpus, [&](int i) { f.tvm.run_to_sync(f.tvm.vcpu(i), i); });
	for (int i = 0; i < kVcpus; i++) {
		expect_pattern(f.map.data() + i * kPagesEach * kPage, i * kPagesEach * kPage,
			       kPagesEach * kPage, kSeedB + i);
	}
}

}  // namespace
