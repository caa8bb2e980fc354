// Test declarations for C++ bodies run by the real kselftest harness.
//
//   KVMT_FIXTURE(gmem_shared, SharedGmem, VmTypeVariant, vm_type_variants());
//   KVMT_TEST_F(gmem_shared, roundtrip_every_byte) { ... f.gmem ..., v.name ... }
//   KVMT_TEST_F_TABLE(gmem_shared, kRanges, Range, r) { ... one test per row ... }
//   KVMT_TEST(page_tables, pte_encoding) { ... }
//
// Names are fixture.variant.test as in any selftest. A fixture class is built
// from its variant in the forked child; a throwing constructor skips or fails
// the test like FIXTURE_SETUP would. ASSERT_* end the test (destructors run),
// EXPECT_* record a failure and continue, SKIP_IF/skip() end it as skipped.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "errors.hh"

namespace kvmt {

constexpr int kDefaultTestTimeout = 30;

struct TestSkip {
	std::string reason;
};
struct TestFailure {};

[[noreturn]] void skip(const std::string &reason);
// Records a failed check: prints it as a diagnostic, marks the test failed.
void record_failure(const char *file, int line, const std::string &what);
bool test_failed();
// "file:line: what" of the last failed check (empty when none).
std::string last_failure();
// Diagnostic line ("# ...") for the running test.
void test_log(const std::string &msg);

struct TestDef {
	const char *fixture;
	const char *name;
	int timeout;
	int termsig;
	std::function<void(const void *variant)> run;
};

struct VariantRef {
	std::string name;
	const void *data;
};

bool register_fixture(const char *fixture, std::vector<VariantRef> variants);
bool register_test(TestDef def);

// Called once by main() before the harness runs (e.g. to print the profile).
using ProgramPreamble = void (*)();
bool register_preamble(ProgramPreamble fn);
// Called first in main(), before the options are read: a program the suite
// started as a helper process (a peer) does its job there and exits.
bool register_startup(ProgramPreamble fn);

inline const char *name_of(const char *name)
{
	return name;
}
inline const char *name_of(const std::string &name)
{
	return name.c_str();
}

template <typename Row>
auto row_timeout(const Row &row, int table_timeout, int) -> decltype(int(row.timeout))
{
	return row.timeout ? row.timeout : table_timeout;
}
template <typename Row>
int row_timeout(const Row &, int table_timeout, long)
{
	return table_timeout;
}

template <typename V>
std::vector<VariantRef> erase_variants(const std::vector<V> &variants)
{
	std::vector<VariantRef> refs;
	for (const V &v : variants)
		refs.push_back({v.name, &v});
	return refs;
}

// Where a check is written; a helper's default argument captures its caller.
struct Where {
	const char *file;
	int line;
	static Where here(const char *file = __builtin_FILE(), int line = __builtin_LINE())
	{
		return {file, line};
	}
};

// The context streamed after a check; a Where in it moves the reported line.
class Context {
public:
	template <typename T>
	Context &operator<<(const T &value)
	{
		text_ << value;
		return *this;
	}
	Context &operator<<(const Where &where)
	{
		caller_ = where;
		return *this;
	}
	std::string text() const { return text_.str(); }
	const std::optional<Where> &caller() const { return caller_; }

private:
	std::ostringstream text_;
	std::optional<Where> caller_;
};

// A check that failed: assigning its context records it, and ends the test
// when the check was an ASSERT.
struct FailedCheck {
	const char *file;
	int line;
	bool fatal;
	std::string what;
	void operator=(const Context &context) const;
};

template <typename T>
std::string show(const T &value);

template <typename A, typename B, typename Op>
std::optional<std::string> compare(const A &a, const B &b, const char *expr, Op op)
{
	if (op(a, b))
		return std::nullopt;
	return std::string("expected ") + expr + ", got " + show(a) + " vs " + show(b);
}

std::optional<std::string> errno_mismatch(const std::function<long()> &call, int err,
					  const char *expr);
std::optional<std::string> call_failure(const std::function<long()> &call, const char *expr);

template <typename T>
std::string show(const T &value)
{
	std::ostringstream os;
	if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
		os << value;
		if (value < 0 || value > 9)
			os << " (0x" << std::hex << static_cast<uint64_t>(value) << ")";
	} else if constexpr (std::is_pointer_v<T>) {
		os << static_cast<const void *>(value);
	} else {
		os << value;
	}
	return os.str();
}

}  // namespace kvmt

#define KVMT_CONCAT_(a, b) a##b
#define KVMT_CONCAT(a, b) KVMT_CONCAT_(a, b)

#define KVMT_FIXTURE(fixture, Class, Variant, variants_expr)                              \
	using fixture##_class_t = Class;                                                  \
	using fixture##_variant_t = Variant;                                              \
	static const std::vector<Variant> &fixture##_variants()                           \
	{                                                                                 \
		static const std::vector<Variant> v = variants_expr;                      \
		return v;                                                                 \
	}                                                                                 \
	[[maybe_unused]] static const bool fixture##_registered =                         \
		kvmt::register_fixture(#fixture, kvmt::erase_variants(fixture##_variants()))

#define KVMT_TEST_F_FULL(fixture, test, timeout, termsig)                                 \
	static void fixture##_##test(fixture##_class_t &f, const fixture##_variant_t &v); \
	[[maybe_unused]] static const bool fixture##_##test##_registered =                \
		kvmt::register_test({#fixture, #test, timeout, termsig,                   \
				     [](const void *data) {                               \
					     auto &v = *static_cast<const fixture##_variant_t *>(data); \
					     fixture##_class_t f(v);                      \
					     fixture##_##test(f, v);                      \
				     }});                                                 \
	static void fixture##_##test([[maybe_unused]] fixture##_class_t &f,               \
				     [[maybe_unused]] const fixture##_variant_t &v)

#define KVMT_TEST_F(fixture, test) KVMT_TEST_F_FULL(fixture, test, kvmt::kDefaultTestTimeout, -1)
#define KVMT_TEST_F_TIMEOUT(fixture, test, timeout) KVMT_TEST_F_FULL(fixture, test, timeout, -1)

// One test per row of a table, named by the row (fixture.variant.<row.name>);
// the table must outlive registration (a static, or a function returning one).
// A row with an int `timeout` member sets its own (0: the table's).
//   KVMT_TEST_F_TABLE(conv, kPrecisionRanges, Range, r) { check_precision(f, r); }
#define KVMT_TEST_F_TABLE(fixture, table, Row, row)                                       \
	KVMT_TEST_F_TABLE_TIMEOUT(fixture, table, Row, row, kvmt::kDefaultTestTimeout)
#define KVMT_TEST_F_TABLE_TIMEOUT(fixture, table, Row, row, timeout)                      \
	static void fixture##_##table##_row(fixture##_class_t &f, const fixture##_variant_t &v, \
					    const Row &row);                              \
	[[maybe_unused]] static const bool fixture##_##table##_registered = [] {          \
		for (const Row &kvmt_row_ : table)                                        \
			kvmt::register_test(                                              \
				{#fixture, kvmt::name_of(kvmt_row_.name),                 \
				 kvmt::row_timeout(kvmt_row_, timeout, 0), -1,            \
				 [&kvmt_row_](const void *data) {                         \
					 auto &v = *static_cast<const fixture##_variant_t *>(data); \
					 fixture##_class_t f(v);                          \
					 fixture##_##table##_row(f, v, kvmt_row_);        \
				 }});                                                     \
		return true;                                                              \
	}();                                                                              \
	static void fixture##_##table##_row([[maybe_unused]] fixture##_class_t &f,        \
					    [[maybe_unused]] const fixture##_variant_t &v, \
					    const Row &row)

// A test without fixture class or variants: fixture.test.
#define KVMT_TEST(fixture, test)                                                          \
	static void fixture##_##test();                                                   \
	[[maybe_unused]] static const bool fixture##_##test##_registered =                \
		kvmt::register_fixture(#fixture, {}) &&                                   \
		kvmt::register_test({#fixture, #test, kvmt::kDefaultTestTimeout, -1,      \
				     [](const void *) { fixture##_##test(); }});          \
	static void fixture##_##test()

// Every check takes streamed context, reported on the same line as the
// failure: EXPECT_EQ(seen, want) << "page " << i;
// A helper that checks on its caller's behalf takes `Where where = Where::here()`
// and streams it first, so the failure names the caller's line:
// EXPECT_EQ(r.err, Errno(EINVAL)) << where << what;
// (A one-pass for, not do/while, so that the context can follow the macro;
// not if/else, which would capture a caller's else.)
#define KVMT_FAIL_UNLESS_(fatal, failure)                                                 \
	for (std::optional<std::string> kvmt_failure_ = (failure); kvmt_failure_;         \
	     kvmt_failure_.reset())                                                       \
		kvmt::FailedCheck{__FILE__, __LINE__, fatal, *kvmt_failure_} = kvmt::Context()

#define KVMT_CHECK_(fatal, cond, text)                                                    \
	KVMT_FAIL_UNLESS_(fatal, (cond) ? std::optional<std::string>() : std::string(text))

#define KVMT_CMP_(fatal, a, op, b)                                                        \
	KVMT_FAIL_UNLESS_(fatal, kvmt::compare((a), (b), #a " " #op " " #b,                 \
					       [](const auto &x, const auto &y) { return x op y; }))

#define ASSERT_TRUE(c) KVMT_CHECK_(true, (c), "expected " #c)
#define ASSERT_FALSE(c) KVMT_CHECK_(true, !(c), "expected !(" #c ")")
#define ASSERT_EQ(a, b) KVMT_CMP_(true, a, ==, b)
#define ASSERT_NE(a, b) KVMT_CMP_(true, a, !=, b)
#define ASSERT_LT(a, b) KVMT_CMP_(true, a, <, b)
#define ASSERT_LE(a, b) KVMT_CMP_(true, a, <=, b)
#define ASSERT_GT(a, b) KVMT_CMP_(true, a, >, b)
#define ASSERT_GE(a, b) KVMT_CMP_(true, a, >=, b)
#define EXPECT_TRUE(c) KVMT_CHECK_(false, (c), "expected " #c)
#define EXPECT_FALSE(c) KVMT_CHECK_(false, !(c), "expected !(" #c ")")
#define EXPECT_EQ(a, b) KVMT_CMP_(false, a, ==, b)
#define EXPECT_NE(a, b) KVMT_CMP_(false, a, !=, b)
#define EXPECT_LT(a, b) KVMT_CMP_(false, a, <, b)
#define EXPECT_LE(a, b) KVMT_CMP_(false, a, <=, b)
#define EXPECT_GT(a, b) KVMT_CMP_(false, a, >, b)
#define EXPECT_GE(a, b) KVMT_CMP_(false, a, >=, b)

// A system call expected to fail with one errno; prints names, not numbers.
#define KVMT_ERRNO_(fatal, call, err)                                                     \
	KVMT_FAIL_UNLESS_(fatal, kvmt::errno_mismatch(                                    \
					 [&]() -> long { return (long)(call); }, (err), #call))
#define ASSERT_ERRNO(call, err) KVMT_ERRNO_(true, call, err)
#define EXPECT_ERRNO(call, err) KVMT_ERRNO_(false, call, err)

// A system call expected to succeed (return >= 0).
#define KVMT_OK_(fatal, call)                                                             \
	KVMT_FAIL_UNLESS_(fatal, kvmt::call_failure([&]() -> long { return (long)(call); }, #call))
#define ASSERT_OK(call) KVMT_OK_(true, call)
#define EXPECT_OK(call) KVMT_OK_(false, call)

#define SKIP_IF(cond, reason)                                                             \
	do {                                                                              \
		if (cond)                                                                 \
			kvmt::skip(reason);                                               \
	} while (0)
