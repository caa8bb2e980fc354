#include "guest.hh"
#include "hypercall_x86.hh"

namespace kvmt::x86 {

uint64_t guest_hypercall_vmmcall;

uint64_t guest_kvm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	uint64_t ret;
	if (guest_hypercall_vmmcall)
		asm volatile("vmmcall"
			     : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			     : "memory");
	else
		asm volatile("vmcall"
			     : "=a"(ret)
			     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			     : "memory");
	return ret;
}

void guest_hypercall_probe(uint64_t gpa, uint64_t)
{
	uint64_t ret = guest_map_gpa_range(gpa, 1, KVM_MAP_GPA_RANGE_ENCRYPTED);
	GUEST_SYNC(0, ret);
}

}  // namespace kvmt::x86
