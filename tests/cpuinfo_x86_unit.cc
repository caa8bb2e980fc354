// /proc/cpuinfo's flags lines decide whether guest code runs natively
// (VMX/SVM) or in KVM's instruction emulator: parsing on hand-written text.
#include "../include/x86/cpuinfo_x86.hh"
#include "test.hh"

using namespace kvmt::x86;

KVMT_TEST(cpuinfo_x86, svm_or_vmx_in_flags)
{
	EXPECT_TRUE(cpuinfo_has_vmx_or_svm("processor\t: 0\nflags\t\t: fpu vme svm npt\n"));
	EXPECT_TRUE(cpuinfo_has_vmx_or_svm("flags : vmx\nbugs : spectre_v1\n"));
}

KVMT_TEST(cpuinfo_x86, no_hardware_virtualisation)
{
	EXPECT_FALSE(cpuinfo_has_vmx_or_svm(""));
	EXPECT_FALSE(cpuinfo_has_vmx_or_svm("flags\t\t: fpu vme hypervisor lahf_lm\n"));
	// Words that only contain the names, and other lines that name them.
	EXPECT_FALSE(cpuinfo_has_vmx_or_svm("flags : svmx vmxe\n"));
	EXPECT_FALSE(cpuinfo_has_vmx_or_svm("vmx flags : vmx ept\nmodel name : svm vmx\n"));
}
