// Settings from the environment: a bad value is one line naming the
// variable, the value and what is accepted. Of include/harness/env_settings.hh
// (once test_env.hh: this file and its results test_env.* keep that name).
#include <cstdlib>
#include <vector>

#include "env_settings.hh"
#include "page_content.hh"
#include "page_size.hh"
#include "test.hh"

using namespace kvmt;

namespace {

std::string parse(const char *value, uint64_t *out)
{
	setenv(kEnvStressSeconds.name, value, 1);
	std::string error;
	bool ok = env_number(kEnvStressSeconds, out, &error);
	unsetenv(kEnvStressSeconds.name);
	return ok ? "ok" : error;
}

}  // namespace

KVMT_TEST(test_env, numbers_in_range)
{
	uint64_t v = 0;
	ASSERT_EQ(parse("45", &v), std::string("ok"));
	ASSERT_EQ(v, 45u);
	ASSERT_EQ(parse("0x10", &v), std::string("ok"));
	ASSERT_EQ(v, 16u);
	std::string error;
	ASSERT_TRUE(env_number(kEnvStressSeconds, &v, &error));
	ASSERT_EQ(v, kEnvStressSeconds.def);
}

KVMT_TEST(test_env, bad_values)
{
	uint64_t v;
	for (const char *bad : {"", "abc", "-5", "+5", " 5", "5s", "0", "86401",
				"18446744073709551616", "99999999999999999999999"})
		ASSERT_EQ(parse(bad, &v), std::string("GMEM_STRESS_SECONDS: '") + bad +
						  "' is not a number in 1..86400");
}

KVMT_TEST(test_env, injected_faults)
{
	InjectedFault f;
	std::string error;
	setenv("GMEM_INJECT_FAULT", "1", 1);
	ASSERT_TRUE(env_injected_fault(&f, &error));
	ASSERT_EQ(std::string(fault_name(f)), std::string("byte"));
	setenv("GMEM_INJECT_FAULT", "kill-child", 1);
	ASSERT_TRUE(env_injected_fault(&f, &error));
	ASSERT_TRUE(f == InjectedFault::KillChild);
	setenv("GMEM_INJECT_FAULT", "bitrot", 1);
	ASSERT_FALSE(env_injected_fault(&f, &error));
	ASSERT_EQ(error, std::string("GMEM_INJECT_FAULT: unknown fault 'bitrot' (byte, oracle, hang, kill-child)"));
	unsetenv("GMEM_INJECT_FAULT");
	ASSERT_TRUE(env_injected_fault(&f, &error));
	ASSERT_TRUE(f == InjectedFault::None);
}

KVMT_TEST(page_content, fill_check_and_describe)
{
	const uint64_t page_3 = 3 * page_size(), page_4 = 4 * page_size();
	std::vector<uint8_t> bytes(page_size());
	uint8_t *page = bytes.data();
	PageContent c = PageContent::pattern(0x1f);
	fill_content(page, page_3, c);
	ASSERT_EQ(first_content_mismatch(page, page_3, c), -1);
	ASSERT_EQ(first_content_mismatch(page, page_4, c), 0);  // another page's pattern
	ASSERT_EQ(first_content_mismatch(page, page_3, PageContent::any()), -1);
	page[0x12] ^= 1;
	ASSERT_EQ(first_content_mismatch(page, page_3, c), 0x12);
	char want[128];
	snprintf(want, sizeof(want),
		 "page 3 offset 0x12 (gmem 0x%llx): expected 0x%02x (pattern seed 0x1f), seen 0x%02x",
		 (unsigned long long)(page_3 + 0x12), content_byte(c, page_3 + 0x12), page[0x12]);
	ASSERT_EQ(describe_byte_mismatch(page_3 + 0x12, c, page[0x12]), std::string(want));
	fill_content(page, 0, PageContent::zero());
	ASSERT_EQ(first_content_mismatch(page, 0, PageContent::zero()), -1);
}
