// What the two halves of private_mem_conversions_test share: the host half
// (private_mem_conversions_test.cc) and the guest half (..._guest.cc, built
// with guest flags). Each scenario is a host function there and a guest
// function here, in the same order; they meet at GUEST_SYNC points whose
// names say what the host does there.
#pragma once

#include <stdint.h>

namespace kvmt::x86 {

// Where a scenario's guest stops, named by what the host does before it
// resumes the guest. The host checks that the guest stopped at the point it
// expects, so a guest that skipped or added a step fails.
enum SyncPoint : uint64_t {
	// The host checks its view of the range: the shared pages' bytes, and
	// in place SIGBUS on the private ones. It changes nothing.
	kHostChecks = 1,
	// The same check, then the host writes new data (Seeds::host2) into the
	// shared view.
	kHostChecksThenWrites,
	// host_driven: the same check, then KVM_SET_MEMORY_ATTRIBUTES(2) of the
	// whole range, to private or to shared.
	kHostConvertsToPrivate,
	kHostConvertsToShared,
	// punch_private_reads_zero: the same check, then a hole punched in the
	// guest_memfd under pages 1-2 of the range.
	kHostPunches,
	// guest_read_then_write: args[1] is the word the guest read.
	kHostChecksWordRead,
	// guest_read_then_write: the guest wrote its word.
	kHostChecksWordWritten,
};

// KVM_HC_MAP_GPA_RANGE counts pages of 4 KiB (KVM_MAP_GPA_RANGE_PAGE_SZ_4K),
// whatever the host's page size.
constexpr uint64_t kMapGpaRangePage = 4096;

// Not a pattern seed: "every byte is 0".
constexpr uint64_t kZeroes = 0;

// The pattern seeds of one vCPU's range, distinct per vCPU so that a byte
// from a neighbour's range never matches. A pattern also encodes each byte's
// guest_memfd offset (pattern.hh).
struct Seeds {
	uint64_t host1;     // the host writes before the guest first runs
	uint64_t guest1;    // the guest writes while the range is shared
	uint64_t private1;  // the guest writes while the range is private
	uint64_t host2;     // the host writes once the guest has been private
	uint64_t private2;  // the guest writes into punched private pages
};

// What one vCPU's guest function works on: its range of the test memory,
// identity-mapped (the GPA is also the guest's pointer).
struct GuestRange {
	uint64_t gpa;
	uint64_t gmem_offset;  // the range's offset in the guest_memfd
	uint64_t npages;       // host pages (host_page_size_for_guest, processor.hh)
	Seeds seeds;
	uint64_t punched;      // the host punches whatever the guest makes shared
};

constexpr int kMaxScenarioVcpus = 4;
// Written by the host into the guest's copy before the vCPUs first run; a
// scenario's guest function gets its index as arg0.
extern GuestRange guest_ranges[kMaxScenarioVcpus];

// The scenarios' guest halves, in the order of the host file.
void guest_round_trip_per_vm(uint64_t vcpu, uint64_t);
void guest_round_trip_in_place(uint64_t vcpu, uint64_t);
void guest_partial_per_vm(uint64_t vcpu, uint64_t);
void guest_partial_in_place(uint64_t vcpu, uint64_t);
void guest_host_driven_per_vm(uint64_t vcpu, uint64_t);
void guest_host_driven_in_place(uint64_t vcpu, uint64_t);
void guest_punch_private(uint64_t vcpu, uint64_t);

// For the MMIO and memory-fault rows, in rounds: reads the 64-bit word at gpa
// (GUEST_SYNC(kHostChecksWordRead, word)), then writes `value` there
// (GUEST_SYNC(kHostChecksWordWritten)).
void guest_read_then_write(uint64_t gpa, uint64_t value);

// Raw hypercalls for the hypercall rows: after request i the guest checks
// RAX against expect_ret and syncs with GUEST_SYNC(i).
struct HypercallRequest {
	uint64_t nr;
	uint64_t args[4];
	uint64_t expect_ret;
};

constexpr int kMaxHypercallRequests = 16;
extern HypercallRequest hypercall_requests[kMaxHypercallRequests];
extern uint64_t hypercall_request_count;

void guest_issue_hypercalls(uint64_t, uint64_t);

}  // namespace kvmt::x86
