#include "guest_page_ops.hh"

#include "guest.hh"

namespace kvmt {

GuestPageOpsCmd guest_page_ops_cmds[kGuestOpsSlots];
GuestPageOpsBuffers guest_page_ops_buffers[kGuestOpsSlots];

constexpr uint64_t kWords = kGuestOpsPageSize / 8;

// Index of the first word of the page that differs from want, or kWords.
static uint64_t compare_page(const volatile uint64_t *mem, const uint64_t *want)
{
#if defined(__x86_64__)
	const volatile uint64_t *d = mem;
	const uint64_t *s = want;
	uint64_t n = kWords;
	bool differ;
	asm volatile("cld; repe cmpsq" : "+D"(d), "+S"(s), "+c"(n), "=@ccne"(differ) : : "memory");
	return differ ? kWords - n - 1 : kWords;
#else
	for (uint64_t i = 0; i < kWords; i++)
		if (mem[i] != want[i])
			return i;
	return kWords;
#endif
}

static void copy_pages(volatile uint64_t *mem, const uint64_t *src, uint64_t words)
{
#if defined(__x86_64__)
	asm volatile("cld; rep movsq" : "+D"(mem), "+S"(src), "+c"(words) : : "memory");
#else
	for (uint64_t i = 0; i < words; i++)
		mem[i] = src[i];
#endif
}

static void run_command(uint64_t slot, const GuestPageOpsCmd &c, const GuestPageOpsBuffers &b)
{
	volatile uint64_t *mem = reinterpret_cast<volatile uint64_t *>(c.gva);
	for (uint64_t p = 0; p < c.pages; p++) {
		if (!((c.check_mask >> p) & 1))
			continue;
		const volatile uint64_t *page = mem + p * kWords;
		uint64_t bad = compare_page(page, reinterpret_cast<const uint64_t *>(b.expect[p]));
		if (bad < kWords) {
			GUEST_SYNC(slot, kGuestOpsMismatch, (p * kWords + bad) * 8, page[bad]);
			return;
		}
	}
	if (c.write)
		copy_pages(mem, reinterpret_cast<const uint64_t *>(b.data), c.pages * kWords);
	GUEST_SYNC(slot, kGuestOpsOk, 0, 0);
}

void guest_page_ops_rounds(uint64_t slot, uint64_t)
{
	for (;;) {
		const GuestPageOpsCmd &c = guest_page_ops_cmds[slot];
		while (*reinterpret_cast<const volatile uint64_t *>(&c.hang))
			;  // a guest that hangs: the test's timeout must end it
		run_command(slot, c, guest_page_ops_buffers[slot]);
	}
}

}  // namespace kvmt
