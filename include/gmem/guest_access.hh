// A reusable guest program: in rounds, check a range of guest memory byte by
// byte against what the host says it must hold, optionally write a new
// pattern, then GUEST_SYNC(plan index) so the host can look and change the
// plan. The host edits the guest's copy of guest_access_plans between rounds.
#pragma once

#include <stdint.h>

namespace kvmt {

enum GuestExpect : uint64_t {
	kExpectNothing = 0,
	kExpectPattern = 1,  // pattern(expect_seed), except pages in zero_mask
	kExpectZero = 2,
};

struct GuestAccessPlan {
	uint64_t gva;
	uint64_t len;
	uint64_t file_offset;  // the gmem offset of gva, which the pattern encodes
	uint64_t expect;
	uint64_t expect_seed;
	uint64_t zero_mask;    // bit i: host page i of the range must read zero
	uint64_t write_seed;   // 0: do not write
};

constexpr int kMaxGuestPlans = 16;
extern GuestAccessPlan guest_access_plans[kMaxGuestPlans];

// Guest function: arg0 = plan index. Never returns; each round ends in a SYNC.
void guest_access_rounds(uint64_t plan_index, uint64_t);

}  // namespace kvmt
