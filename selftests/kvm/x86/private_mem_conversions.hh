// Shared between private_mem_conversions_test.cc (host) and its guest code:
// the scripts the host hands each vCPU, written into the guest's copy of the
// globals below before the vCPU first runs.
#pragma once

#include <stdint.h>

namespace kvmt::x86 {

constexpr int kMaxConversionVcpus = 8;
constexpr int kMaxConversionOps = 40;

// One step of a vCPU's conversion script, on pages [first_page, first_page +
// npages) of the vCPU's range.
enum ConversionOpKind : uint64_t {
	kOpEnd = 0,
	kOpCheck,  // every byte is pattern(arg) at its gmem offset; arg 0: every byte is 0
	kOpWrite,  // write pattern(arg)
	kOpMap,    // KVM_HC_MAP_GPA_RANGE with attributes arg; RAX must be 0
	kOpSync,   // GUEST_SYNC(arg): the host looks at and changes memory
};

struct ConversionOp {
	uint64_t kind;
	uint64_t first_page;
	uint64_t npages;
	uint64_t arg;
};

struct ConversionScript {
	uint64_t gpa;          // the range's first page
	uint64_t file_offset;  // its offset in the guest_memfd (what patterns encode)
	ConversionOp ops[kMaxConversionOps];
};

extern ConversionScript conversion_scripts[kMaxConversionVcpus];

// Guest function: arg0 = script index. Ends with GUEST_DONE.
void guest_run_conversion_script(uint64_t index, uint64_t);

// A list of raw hypercalls for the hypercall fixture; after each one the
// guest checks RAX against expect_ret and syncs with the request's index.
struct HypercallRequest {
	uint64_t nr;
	uint64_t args[4];
	uint64_t expect_ret;
};

constexpr int kMaxHypercallRequests = 16;
extern HypercallRequest hypercall_requests[kMaxHypercallRequests];
extern uint64_t hypercall_request_count;

void guest_issue_hypercalls(uint64_t, uint64_t);

// In rounds: reads the 64-bit word at gpa and syncs with its value
// (GUEST_SYNC(1, word)), then writes `value` there and syncs (GUEST_SYNC(2)).
// For the memory-fault and MMIO cases.
void guest_read_then_write(uint64_t gpa, uint64_t value);

}  // namespace kvmt::x86
