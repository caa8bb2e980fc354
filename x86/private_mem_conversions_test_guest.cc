// The guest half of private_mem_conversions_test: one function per scenario,
// in the order of the host file. Each reads top to bottom. The guest converts
// with KVM_HC_MAP_GPA_RANGE, checks every byte it reads against what the
// contract says it must see, and stops at GUEST_SYNC points named by what the
// host does there (the comment says what the host expects to see).
#include "guest.hh"
#include "hypercall_x86.hh"
#include "pattern.hh"
#include "private_mem_conversions_test.hh"
#include "processor.hh"

namespace kvmt::x86 {

GuestRange guest_ranges[kMaxScenarioVcpus];
HypercallRequest hypercall_requests[kMaxHypercallRequests];
uint64_t hypercall_request_count;

namespace {

// Pages [first, first + n) of a vCPU's range.
struct Pages {
	uint64_t gpa;
	uint64_t gmem_offset;
	uint64_t size;
};

Pages pages(const GuestRange &r, uint64_t first, uint64_t n)
{
	const uint64_t page = host_page_size_for_guest;
	return {r.gpa + first * page, r.gmem_offset + first * page, n * page};
}

Pages whole(const GuestRange &r) { return pages(r, 0, r.npages); }

// The first byte of p that is not pattern(seed) (kZeroes: not 0); all zero
// when there is none.
struct FirstMismatch {
	uint64_t byte;
	uint64_t expected;
	uint64_t gmem_offset;
};

FirstMismatch first_mismatch(const Pages &p, uint64_t seed)
{
	const volatile uint8_t *mem = reinterpret_cast<const volatile uint8_t *>(p.gpa);
	for (uint64_t i = 0; i < p.size; i++) {
		uint8_t want = seed == kZeroes ? 0 : pattern_byte(seed, p.gmem_offset + i);
		if (mem[i] != want)
			return {mem[i], want, p.gmem_offset + i};
	}
	return {0, 0, 0};
}

void write_data(const Pages &p, uint64_t seed)
{
	volatile uint8_t *mem = reinterpret_cast<volatile uint8_t *>(p.gpa);
	for (uint64_t i = 0; i < p.size; i++)
		mem[i] = pattern_byte(seed, p.gmem_offset + i);
}

void map_gpa_range(const Pages &p, uint64_t attributes)
{
	uint64_t npages = p.size / kMapGpaRangePage;
	uint64_t ret = guest_map_gpa_range(p.gpa, npages, attributes | KVM_MAP_GPA_RANGE_PAGE_SZ_4K);
	GUEST_ASSERT_EQ(ret, 0, "MAP_GPA_RANGE(0x%lx, %lu pages of 4 KiB)", p.gpa, npages);
}

void map_private(const Pages &p) { map_gpa_range(p, KVM_MAP_GPA_RANGE_ENCRYPTED); }
void map_shared(const Pages &p) { map_gpa_range(p, KVM_MAP_GPA_RANGE_DECRYPTED); }

}  // namespace

// Every byte of `pages` is pattern(seed), or 0 for kZeroes. A macro, so that a
// failure names the scenario's line and the expectation's name.
#define EXPECT_DATA(pages, seed)                                                          \
	do {                                                                              \
		const FirstMismatch bad = first_mismatch((pages), (seed));                \
		GUEST_ASSERT_EQ(bad.byte, bad.expected,                                   \
				"at gmem offset 0x%lx, expected " #seed " (0x%lx) in " #pages,    \
				bad.gmem_offset, (seed));                                 \
	} while (0)

// guest_driven*, per-VM attributes: private and shared are different pages
// (the guest_memfd, the memslot's anonymous memory), so each conversion shows
// the guest the other side's data.
void guest_round_trip_per_vm(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r);
	// The private side keeps its data through a trip to shared, unless the
	// host punched the guest_memfd when the range became shared.
	const uint64_t private1_unless_punched = r.punched ? kZeroes : s.private1;

	EXPECT_DATA(range, s.host1);
	write_data(range, s.guest1);
	GUEST_SYNC(kHostChecks);  // shared: guest1

	map_private(range);
	EXPECT_DATA(range, kZeroes);  // fresh private memory
	write_data(range, s.private1);
	GUEST_SYNC(kHostChecksThenWrites);  // shared: still guest1; writes host2

	map_shared(range);
	EXPECT_DATA(range, s.host2);
	GUEST_SYNC(kHostChecks);  // shared: host2

	map_private(range);
	EXPECT_DATA(range, private1_unless_punched);
	GUEST_SYNC(kHostChecks);  // shared: still host2

	map_shared(range);
	EXPECT_DATA(range, s.host2);
}

// guest_driven*, in place: one page under both views, so what either side
// wrote before a conversion is there after it, unless the host punched it.
void guest_round_trip_in_place(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r);
	const uint64_t private1_unless_punched = r.punched ? kZeroes : s.private1;
	const uint64_t host2_unless_punched = r.punched ? kZeroes : s.host2;

	EXPECT_DATA(range, s.host1);
	write_data(range, s.guest1);
	GUEST_SYNC(kHostChecks);  // shared: guest1

	map_private(range);
	EXPECT_DATA(range, s.guest1);
	write_data(range, s.private1);
	GUEST_SYNC(kHostChecks);  // private: SIGBUS

	map_shared(range);
	EXPECT_DATA(range, private1_unless_punched);
	GUEST_SYNC(kHostChecksThenWrites);  // shared: private1_unless_punched; writes host2

	map_private(range);
	EXPECT_DATA(range, s.host2);
	GUEST_SYNC(kHostChecks);  // private: SIGBUS

	map_shared(range);
	EXPECT_DATA(range, host2_unless_punched);
}

// guest_driven_partial, per-VM attributes: single pages and sub-ranges change
// sides alone; a request over a range partly in the target state already.
void guest_partial_per_vm(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r), page0 = pages(r, 0, 1), page1 = pages(r, 1, 1);
	const Pages pages0_1 = pages(r, 0, 2), pages1_3 = pages(r, 1, 3), pages2_3 = pages(r, 2, 2);

	EXPECT_DATA(range, s.host1);
	write_data(range, s.guest1);
	GUEST_SYNC(kHostChecks);  // shared: guest1

	map_private(page1);
	EXPECT_DATA(page0, s.guest1);
	EXPECT_DATA(page1, kZeroes);  // fresh private memory
	EXPECT_DATA(pages2_3, s.guest1);
	write_data(page1, s.private1);
	GUEST_SYNC(kHostChecks);  // shared: still guest1 everywhere

	map_private(pages2_3);
	EXPECT_DATA(page0, s.guest1);
	EXPECT_DATA(page1, s.private1);
	EXPECT_DATA(pages2_3, kZeroes);
	write_data(pages2_3, s.private1);

	map_shared(page1);  // a shared hole in the private range
	EXPECT_DATA(pages0_1, s.guest1);
	EXPECT_DATA(pages2_3, s.private1);
	GUEST_SYNC(kHostChecks);  // shared: still guest1 everywhere

	map_shared(range);  // pages 0-1 are shared already
	EXPECT_DATA(range, s.guest1);
	GUEST_SYNC(kHostChecks);  // shared: still guest1 everywhere

	map_private(range);
	EXPECT_DATA(page0, kZeroes);  // its private side was never written
	EXPECT_DATA(pages1_3, s.private1);
}

// guest_driven_partial, in place: the same conversions; a page's data stays
// with it, only the host's access changes.
void guest_partial_in_place(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r), page0 = pages(r, 0, 1), page1 = pages(r, 1, 1);
	const Pages pages1_3 = pages(r, 1, 3), pages2_3 = pages(r, 2, 2);

	EXPECT_DATA(range, s.host1);
	write_data(range, s.guest1);
	GUEST_SYNC(kHostChecks);  // shared: guest1

	map_private(page1);
	EXPECT_DATA(range, s.guest1);
	write_data(page1, s.private1);
	GUEST_SYNC(kHostChecks);  // page 1 SIGBUS, pages 0, 2-3 guest1

	map_private(pages2_3);
	EXPECT_DATA(page0, s.guest1);
	EXPECT_DATA(page1, s.private1);
	EXPECT_DATA(pages2_3, s.guest1);
	write_data(pages2_3, s.private1);

	map_shared(page1);  // a shared hole in the private range
	EXPECT_DATA(page0, s.guest1);
	EXPECT_DATA(pages1_3, s.private1);
	GUEST_SYNC(kHostChecks);  // page 0 guest1, page 1 private1, pages 2-3 SIGBUS

	map_shared(range);  // pages 0-1 are shared already
	EXPECT_DATA(page0, s.guest1);
	EXPECT_DATA(pages1_3, s.private1);
	GUEST_SYNC(kHostChecks);  // page 0 guest1, pages 1-3 private1

	map_private(range);
	EXPECT_DATA(page0, s.guest1);
	EXPECT_DATA(pages1_3, s.private1);
}

// host_driven, per-VM attributes: the host converts between the guest's
// steps; no hypercalls.
void guest_host_driven_per_vm(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r);

	EXPECT_DATA(range, s.host1);
	write_data(range, s.guest1);
	GUEST_SYNC(kHostConvertsToPrivate);  // shared: guest1

	EXPECT_DATA(range, kZeroes);  // fresh private memory
	write_data(range, s.private1);
	GUEST_SYNC(kHostConvertsToShared);  // shared: still guest1

	EXPECT_DATA(range, s.guest1);
	GUEST_SYNC(kHostConvertsToPrivate);  // shared: still guest1

	EXPECT_DATA(range, s.private1);
}

// host_driven, in place.
void guest_host_driven_in_place(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r);

	EXPECT_DATA(range, s.host1);
	write_data(range, s.guest1);
	GUEST_SYNC(kHostConvertsToPrivate);  // shared: guest1

	EXPECT_DATA(range, s.guest1);
	write_data(range, s.private1);
	GUEST_SYNC(kHostConvertsToShared);  // private: SIGBUS

	EXPECT_DATA(range, s.private1);
	GUEST_SYNC(kHostConvertsToPrivate);  // shared: private1

	EXPECT_DATA(range, s.private1);
}

// punch_private_reads_zero, both modes: the host made the range private
// before the guest ran.
void guest_punch_private(uint64_t vcpu, uint64_t)
{
	const GuestRange &r = guest_ranges[vcpu];
	const Seeds &s = r.seeds;
	const Pages range = whole(r), page0 = pages(r, 0, 1), pages1_2 = pages(r, 1, 2),
		    page3 = pages(r, 3, 1);

	write_data(range, s.private1);
	GUEST_SYNC(kHostPunches);  // private: SIGBUS in place, else shared: host1

	EXPECT_DATA(page0, s.private1);
	EXPECT_DATA(pages1_2, kZeroes);  // fresh pages, still private
	EXPECT_DATA(page3, s.private1);
	write_data(pages1_2, s.private2);
	GUEST_SYNC(kHostChecks);  // as before

	EXPECT_DATA(page0, s.private1);
	EXPECT_DATA(pages1_2, s.private2);
	EXPECT_DATA(page3, s.private1);
}

void guest_read_then_write(uint64_t gpa, uint64_t value)
{
	volatile uint64_t *word = reinterpret_cast<volatile uint64_t *>(gpa);
	for (;;) {
		uint64_t seen = *word;
		GUEST_SYNC(kHostChecksWordRead, seen);
		*word = value;
		GUEST_SYNC(kHostChecksWordWritten);
	}
}

void guest_issue_hypercalls(uint64_t, uint64_t)
{
	for (uint64_t i = 0; i < hypercall_request_count; i++) {
		const HypercallRequest &r = hypercall_requests[i];
		uint64_t ret = guest_kvm_hypercall(r.nr, r.args[0], r.args[1], r.args[2], r.args[3]);
		GUEST_ASSERT_EQ(ret, r.expect_ret, "request %lu", i);
		GUEST_SYNC(i);
	}
}

}  // namespace kvmt::x86
