// The host side of guest_page_ops: one vCPU running the guest program in its
// own slot, checking and writing whole guest_memfd pages (host pages) for the host.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "guest_page_ops.hh"
#include "page_content.hh"

namespace kvmt {

class GuestVm;
class Vcpu;

struct GuestPagesResult {
	bool mismatch = false;
	uint64_t file_offset = 0;  // of the first byte that differs
	PageContent expected;      // what that page should have held
	uint8_t seen = 0;
};

class GuestPages {
public:
	// Gmem offset 0 is at guest address gva_base (identity-mapped memslot).
	GuestPages(GuestVm &tvm, int slot, uint64_t gva_base);

	// The guest checks pages [first, first + expect.size()) against expect
	// (Any: not checked), then, when write is set, fills pages
	// [first, first + count) with it. Throws on an unexpected exit.
	GuestPagesResult run(uint64_t first, uint64_t count, const std::vector<PageContent> &expect,
			     std::optional<PageContent> write);
	// Test-only fault: the next round spins forever in the guest.
	void hang_next_round();
	Vcpu &vcpu() { return *vcpu_; }

private:
	GuestVm &tvm_;
	int slot_;
	uint64_t gva_base_;
	uint8_t *expect_;  // the host's view of the guest's buffers
	uint8_t *data_;
	Vcpu *vcpu_;
};

}  // namespace kvmt
