// The guest-to-host call block, shared by guest and host code. The guest
// fills one on its stack and hands its address to the host through the
// architecture's exit (x86: port I/O, arm64: MMIO).
#pragma once

#include <stdint.h>

namespace kvmt {

enum UcallCmd : uint64_t {
	UCALL_NONE = 0,
	UCALL_SYNC = 1,   // args[0] = stage, args[1..] = values
	UCALL_DONE = 2,
	UCALL_ABORT = 3,  // a failed GUEST_ASSERT: file, line, text, args, fmt
};

constexpr int kUcallArgs = 4;

// Aligned so that it never straddles a guest page.
struct alignas(128) Ucall {
	uint64_t cmd;
	uint64_t line;
	const char *file;
	const char *text;
	const char *fmt;  // GUEST_ASSERT_EQ's context: printf format for args[2..]
	uint64_t nargs;
	uint64_t args[kUcallArgs];
};

using GuestFn = void (*)(uint64_t arg0, uint64_t arg1);

}  // namespace kvmt
