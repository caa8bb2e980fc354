#include "guest_pages.hh"

#include <cstring>

#include "errors.hh"
#include "guest_vm.hh"
#include "page_size.hh"

namespace kvmt {

GuestPages::GuestPages(GuestVm &tvm, int slot, uint64_t gva_base)
	: tvm_(tvm), slot_(slot), gva_base_(gva_base)
{
	if (slot < 0 || slot >= kGuestOpsSlots)
		throw Error("guest page ops: no slot " + std::to_string(slot));
	uint64_t buffer_bytes = kGuestOpsMaxPages * page_size();
	uint64_t buffers = tvm_.alloc_system_memory(2 * buffer_bytes);
	expect_ = static_cast<uint8_t *>(tvm_.gva_to_hva(buffers));
	data_ = expect_ + buffer_bytes;
	GuestPageOpsCmd &cmd = tvm_.guest_global(guest_page_ops_cmds[slot]);
	cmd = {};
	cmd.expect_gva = buffers;
	cmd.data_gva = buffers + buffer_bytes;
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
	uint64_t page = page_size(), base = first * page;
	GuestPageOpsCmd &cmd = tvm_.guest_global(guest_page_ops_cmds[slot_]);
	cmd.gva = gva_base_ + base;
	cmd.pages = count;
	cmd.check_mask = 0;
	for (uint64_t p = 0; p < expect.size(); p++) {
		if (expect[p].kind == PageContent::Any)
			continue;
		cmd.check_mask |= 1ULL << p;
		fill_content(expect_ + p * page, base + p * page, expect[p]);
	}
	cmd.write = write.has_value();
	for (uint64_t p = 0; write && p < count; p++)
		fill_content(data_ + p * page, base + p * page, *write);

	Ucall uc = tvm_.run_to_sync(*vcpu_, slot_);
	GuestPagesResult r;
	if (uc.args[1] != kGuestOpsMismatch)
		return r;
	uint64_t index = uc.args[2];  // byte index of the bad word in the pages
	uint64_t bad_page = index / page;
	if (bad_page >= expect.size())
		throw Error("guest page ops: mismatch reported outside the checked pages");
	uint8_t seen[8], want[8];
	memcpy(seen, &uc.args[3], 8);
	memcpy(want, expect_ + index, 8);
	int b = 0;
	while (b < 7 && seen[b] == want[b])
		b++;
	r.mismatch = true;
	r.file_offset = base + index + b;
	r.expected = expect[bad_page];
	r.seen = seen[b];
	return r;
}

}  // namespace kvmt
