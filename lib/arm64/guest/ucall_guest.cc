#include "guest.hh"
#include "ucall_arch.hh"

extern "C" void kvmt_ucall_send(kvmt::Ucall *uc)
{
	// A plain register-indirect store: KVM can only emulate an MMIO access
	// whose syndrome is valid (ISV), which excludes writeback addressing.
	asm volatile("str %0, [%1]" : : "r"(uc), "r"(kvmt::kUcallMmioGpa) : "memory");
}
