// For guest code only (files named *_guest.cc): the ucall macros.
//   GUEST_SYNC(stage, values...)  hand control to the host, which resumes us
//   GUEST_ASSERT(cond)            fail the test with file, line and the text
//   GUEST_ASSERT_EQ(a, b)         fail with both values
//   GUEST_ASSERT_EQ(a, b, "offset 0x%lx", off)
//                                 ... and context: a printf format for up to
//                                 two uint64_t values, printed by the host
//   GUEST_DONE()                  finish (returning from the guest function does too)
#pragma once

#include "ucall.hh"

extern "C" void kvmt_ucall_send(kvmt::Ucall *uc);

namespace kvmt {

inline void guest_ucall(uint64_t cmd, const char *file, uint64_t line, const char *text,
			const char *fmt, uint64_t nargs, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0,
			uint64_t a3 = 0)
{
	Ucall uc;
	uc.cmd = cmd;
	uc.line = line;
	uc.file = file;
	uc.text = text;
	uc.fmt = fmt;
	uc.nargs = nargs;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.args[3] = a3;
	kvmt_ucall_send(&uc);
}

[[noreturn]] inline void guest_abort(const char *file, uint64_t line, const char *text,
				     const char *fmt, uint64_t nargs, uint64_t a0 = 0,
				     uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
	for (;;)
		guest_ucall(UCALL_ABORT, file, line, text, fmt, nargs, a0, a1, a2, a3);
}

// Only there for the compiler to check a context format against its values.
__attribute__((format(printf, 1, 2))) inline void guest_format_check(const char *, ...) {}

template <typename... Context>
[[noreturn]] inline void guest_assert_eq_failed(const char *file, uint64_t line,
						const char *text, uint64_t a, uint64_t b,
						const char *fmt, Context... context)
{
	static_assert(sizeof...(context) <= 2, "GUEST_ASSERT_EQ takes up to two context values");
	guest_abort(file, line, text, fmt, 2 + sizeof...(context), a, b,
		    static_cast<uint64_t>(context)...);
}

}  // namespace kvmt

#define KVMT_NARGS_(...) KVMT_NARGS_N_(0, ##__VA_ARGS__, 4, 3, 2, 1, 0)
#define KVMT_NARGS_N_(_0, _1, _2, _3, _4, n, ...) n

#define GUEST_SYNC(stage, ...)                                                             \
	kvmt::guest_ucall(kvmt::UCALL_SYNC, __FILE__, __LINE__, nullptr, nullptr,          \
			  1 + KVMT_NARGS_(__VA_ARGS__), (stage), ##__VA_ARGS__)
#define GUEST_DONE() kvmt::guest_ucall(kvmt::UCALL_DONE, __FILE__, __LINE__, nullptr, nullptr, 0)
#define GUEST_ASSERT(cond)                                                                 \
	do {                                                                               \
		if (!(cond))                                                               \
			kvmt::guest_abort(__FILE__, __LINE__, #cond, nullptr, 0);                   \
	} while (0)
// The optional context is a format literal and its values: "" glues an empty
// one on when there is none, and the unevaluated check keeps them honest.
#define GUEST_ASSERT_EQ(a, b, ...)                                                         \
	do {                                                                               \
		uint64_t kvmt_a_ = (uint64_t)(a), kvmt_b_ = (uint64_t)(b);                 \
		if (false)                                                                 \
			kvmt::guest_format_check(" " __VA_ARGS__);                         \
		if (kvmt_a_ != kvmt_b_)                                                    \
			kvmt::guest_assert_eq_failed(__FILE__, __LINE__, #a " == " #b,      \
						     kvmt_a_, kvmt_b_, "" __VA_ARGS__);    \
	} while (0)
