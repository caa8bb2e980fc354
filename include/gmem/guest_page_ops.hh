// A reusable guest program for stress and random-sequence tests: in rounds,
// compare whole pages of guest memory with bytes the host prepared, then
// optionally copy host-prepared bytes into them, then GUEST_SYNC(slot,
// status, byte index of the first differing word, seen word). A mismatch is
// reported to the host instead of failing in the guest, so that the host can
// name the page, offset, expected and seen bytes and the seed.
//
// The guest only compares and copies (x86: repe cmpsq / rep movsq): KVM's
// instruction emulator, which runs CPL0 guest code on some hosts, executes a
// string instruction about fifty times faster than the same loop in C.
#pragma once

#include <stdint.h>

namespace kvmt {

// Pages are host pages (host_page_size_for_guest), the unit of guest_memfd.
constexpr uint64_t kGuestOpsMaxPages = 8;
constexpr int kGuestOpsSlots = 8;

struct GuestPageOpsCmd {
	uint64_t gva;         // first page (page-aligned)
	uint64_t pages;       // at most kGuestOpsMaxPages
	uint64_t check_mask;  // bit p: page p must equal page p of expect_gva
	uint64_t write;       // 1: after the check, copy the pages at data_gva into them
	uint64_t hang;        // test-only fault: spin forever (a guest that hangs)
	uint64_t expect_gva;  // kGuestOpsMaxPages pages the host fills
	uint64_t data_gva;    // kGuestOpsMaxPages pages the host fills
};

enum GuestPageOpsStatus : uint64_t { kGuestOpsOk = 0, kGuestOpsMismatch = 1 };

extern GuestPageOpsCmd guest_page_ops_cmds[kGuestOpsSlots];

// Guest function: arg0 = slot. Never returns; each round ends in
// GUEST_SYNC(slot, status, byte index into the pages of the bad word, seen word).
void guest_page_ops_rounds(uint64_t slot, uint64_t);

}  // namespace kvmt
