// Result names are built from enumerated values only: stable, unique, and
// unchanged by the lab parsers' character filter ([A-Za-z0-9_-]).
#include <set>

#include "guest_memfd.hh"
#include "kvm_uapi.hh"
#include "test.hh"
#include "vm_type.hh"

using namespace kvmt;

static bool lab_safe(const std::string &s)
{
	for (char c : s)
		if (!isalnum((unsigned char)c) && c != '_' && c != '-')
			return false;
	return !s.empty();
}

KVMT_TEST(result_names, vm_type_variants_are_unique_and_lab_safe)
{
	std::set<std::string> seen;
	for (const VmTypeVariant &v : vm_type_variants()) {
		ASSERT_TRUE(lab_safe(v.name));
		ASSERT_TRUE(seen.insert(v.name).second);
	}
	ASSERT_EQ(vm_type_variants().front().name, std::string("default"));
}

KVMT_TEST(result_names, vm_type_variants_are_in_a_fixed_order)
{
	std::vector<VmTypeVariant> a = vm_type_variants(), b = vm_type_variants();
	ASSERT_EQ(a.size(), b.size());
	for (size_t i = 0; i < a.size(); i++)
		ASSERT_EQ(a[i].name, b[i].name);
}

KVMT_TEST(result_names, gmem_flag_names)
{
	ASSERT_EQ(gmem_flags_name(0), std::string("0"));
	ASSERT_EQ(gmem_flags_name(GUEST_MEMFD_FLAG_MMAP), std::string("MMAP"));
	ASSERT_EQ(gmem_flags_name(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED),
		  std::string("MMAP|INIT_SHARED"));
	ASSERT_EQ(gmem_flags_name(GUEST_MEMFD_FLAG_MMAP | (1ULL << 4)), std::string("MMAP|0x10"));
}
