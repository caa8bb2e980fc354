// VBAR_EL1 for guests: every exception writes its vector offset to the
// exception doorbell (an MMIO exit the host describes with ESR_EL1, FAR_EL1
// and ELR_EL1) instead of looping through a zeroed vector table until the
// test times out. No stack is used, so a bad SP is reported too.
#include "ucall_arch.hh"

#define KVMT_STR_(x) #x
#define KVMT_STR(x) KVMT_STR_(x)

asm(R"(
	.pushsection .text.kvmt_exception_vectors, "ax"
	.balign 2048
	.global kvmt_exception_vectors
	.type kvmt_exception_vectors, %function
kvmt_exception_vectors:
	.irp offset, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
	.balign 128
	mov x17, #\offset
	b kvmt_exception_doorbell
	.endr
kvmt_exception_doorbell:
	ldr x16, 1f
	str x17, [x16]
	b kvmt_exception_doorbell
	.balign 8
1:	.quad )" KVMT_STR(KVMT_UCALL_MMIO_GPA) R"( + 8
	.size kvmt_exception_vectors, . - kvmt_exception_vectors
	.popsection
)");
