#include "guest_page_ops.hh"

#include "guest.hh"
#include "processor.hh"

namespace kvmt {

GuestPageOpsCmd guest_page_ops_cmds[kGuestOpsSlots];

// Index of the first of the words that differs from want, or words.
static uint64_t compare_page(const volatile uint64_t *mem, const uint64_t *want, uint64_t words)
{
#if defined(__x86_64__)
	const volatile uint64_t *d = mem;
	const uint64_t *s = want;
	uint64_t n = words;
	bool differ;
	asm volatile("cld; repe cmpsq" : "+D"(d), "+S"(s), "+c"(n), "=@ccne"(differ) : : "memory");
	return differ ? words - n - 1 : words;
#else
	for (uint64_t i = 0; i < words; i++)
		if (mem[i] != want[i])
			return i;
	return words;
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

static void run_command(uint64_t slot, const GuestPageOpsCmd &c)
{
	uint64_t words = host_page_size_for_guest / 8;
	volatile uint64_t *mem = reinterpret_cast<volatile uint64_t *>(c.gva);
	const uint64_t *expect = reinterpret_cast<const uint64_t *>(c.expect_gva);
	for (uint64_t p = 0; p < c.pages; p++) {
		if (!((c.check_mask >> p) & 1))
			continue;
		const volatile uint64_t *page = mem + p * words;
		uint64_t bad = compare_page(page, expect + p * words, words);
		if (bad < words) {
			GUEST_SYNC(slot, kGuestOpsMismatch, (p * words + bad) * 8, page[bad]);
			return;
		}
	}
	if (c.write)
		copy_pages(mem, reinterpret_cast<const uint64_t *>(c.data_gva), c.pages * words);
	GUEST_SYNC(slot, kGuestOpsOk, 0, 0);
}

void guest_page_ops_rounds(uint64_t slot, uint64_t)
{
	for (;;) {
		const GuestPageOpsCmd &c = guest_page_ops_cmds[slot];
		while (*reinterpret_cast<const volatile uint64_t *>(&c.hang))
			;  // a guest that hangs: the test's timeout must end it
		run_command(slot, c);
	}
}

}  // namespace kvmt
