#include "guest.hh"
#include "ucall_arch.hh"

extern "C" void kvmt_ucall_send(kvmt::Ucall *uc)
{
	asm volatile("outb %%al, %%dx" : : "d"(kvmt::kUcallPort), "a"(0), "D"(uc) : "memory");
}
