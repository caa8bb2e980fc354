#include "guest_pages.hh"

#include <cstring>

#include "errors.hh"
#include "test_vm.hh"

namespace kvmt {

GuestPages::GuestPages(TestVm &tvm, int slot, uint64_t gva_base)
	: tvm_(tvm), slot_(slot), gva_base_(gva_base)
{
	if (slot < 0 || slot >= kGuestOpsSlots)
		throw Error("guest page ops: no slot " + std::to_string(slot));
	tvm_.guest_global(guest_page_ops_cmds[slot]) = {};
	vcpu_ = &tvm_.add_vcpu(guest_page_ops_rounds, slot);
}

void GuestPages::hang_next_round()
{
	tvm_.guest_global(guest_page_ops_cmds[slot_]).hang = 1;
}

GuestPagesResult GuestPages::run(uint64_t first, uint64_t count,
				 const std::vector<PageContent> &expect,
				 std::optional<PageContent> write)
{
	if (count > kGuestOpsMaxPages || expect.size() > count)
		throw Error("guest page ops: at most " + std::to_string(kGuestOpsMaxPages) + " pages");
	GuestPageOpsCmd &cmd = tvm_.guest_global(guest_page_ops_cmds[slot_]);
	GuestPageOpsBuffers &buf = tvm_.guest_global(guest_page_ops_buffers[slot_]);
	uint64_t base = first * kGuestOpsPageSize;
	cmd.gva = gva_base_ + base;
	cmd.pages = count;
	cmd.check_mask = 0;
	for (uint64_t p = 0; p < expect.size(); p++) {
		if (expect[p].kind == PageContent::Any)
			continue;
		cmd.check_mask |= 1ULL << p;
		fill_content(buf.expect[p], base + p * kGuestOpsPageSize, expect[p]);
	}
	cmd.write = write.has_value();
	for (uint64_t p = 0; write && p < count; p++)
		fill_content(buf.data[p], base + p * kGuestOpsPageSize, *write);

	Ucall uc = tvm_.run_to_sync(*vcpu_, slot_);
	GuestPagesResult r;
	if (uc.args[1] != kGuestOpsMismatch)
		return r;
	uint64_t index = uc.args[2];  // byte index of the bad word in the pages
	uint64_t page = index / kGuestOpsPageSize;
	if (page >= expect.size())
		throw Error("guest page ops: mismatch reported outside the checked pages");
	uint8_t seen[8], want[8];
	memcpy(seen, &uc.args[3], 8);
	memcpy(want, &buf.expect[page][index % kGuestOpsPageSize], 8);
	int b = 0;
	while (b < 7 && seen[b] == want[b])
		b++;
	r.mismatch = true;
	r.file_offset = base + index + b;
	r.expected = expect[page];
	r.seen = seen[b];
	return r;
}

}  // namespace kvmt
