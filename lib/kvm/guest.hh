// For guest code only (files named *_guest.cc): the ucall macros.
//   GUEST_SYNC(stage, values...)  hand control to the host, which resumes us
//   GUEST_ASSERT(cond)            fail the test with file, line and the text
//   GUEST_ASSERT_EQ(a, b, ctx...) fail with both values and up to two more
//   GUEST_DONE()                  finish (returning from the guest function does too)
#pragma once

#include "ucall.hh"

extern "C" void kvmt_ucall_send(kvmt::Ucall *uc);

namespace kvmt {

inline void guest_ucall(uint64_t cmd, const char *file, uint64_t line, const char *text,
			uint64_t nargs, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
			uint64_t a3 = 0)
{
	Ucall uc;
	uc.cmd = cmd;
	uc.line = line;
	uc.file = file;
	uc.text = text;
	uc.nargs = nargs;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.args[3] = a3;
	kvmt_ucall_send(&uc);
}

[[noreturn]] inline void guest_abort(const char *file, uint64_t line, const char *text,
				     uint64_t nargs, uint64_t a0 = 0, uint64_t a1 = 0,
				     uint64_t a2 = 0, uint64_t a3 = 0)
{
	for (;;)
		guest_ucall(UCALL_ABORT, file, line, text, nargs, a0, a1, a2, a3);
}

}  // namespace kvmt

#define KVMT_NARGS_(...) KVMT_NARGS_N_(0, ##__VA_ARGS__, 4, 3, 2, 1, 0)
#define KVMT_NARGS_N_(_0, _1, _2, _3, _4, n, ...) n

#define GUEST_SYNC(stage, ...)                                                             \
	kvmt::guest_ucall(kvmt::UCALL_SYNC, __FILE__, __LINE__, nullptr,                   \
			  1 + KVMT_NARGS_(__VA_ARGS__), (stage), ##__VA_ARGS__)
#define GUEST_DONE() kvmt::guest_ucall(kvmt::UCALL_DONE, __FILE__, __LINE__, nullptr, 0)
#define GUEST_ASSERT(cond)                                                                 \
	do {                                                                               \
		if (!(cond))                                                               \
			kvmt::guest_abort(__FILE__, __LINE__, #cond, 0);                   \
	} while (0)
// Extra context values (e.g. the offset checked) are passed after a and b.
#define GUEST_ASSERT_EQ(a, b, ...)                                                         \
	do {                                                                               \
		uint64_t kvmt_a_ = (uint64_t)(a), kvmt_b_ = (uint64_t)(b);                 \
		if (kvmt_a_ != kvmt_b_)                                                    \
			kvmt::guest_abort(__FILE__, __LINE__, #a " == " #b,                \
					  2 + KVMT_NARGS_(__VA_ARGS__), kvmt_a_, kvmt_b_,  \
					  ##__VA_ARGS__);                                  \
	} while (0)
