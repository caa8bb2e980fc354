#include "gmem_model.hh"

#include <cerrno>

#include "conversion_contract.hh"
#include "page_size.hh"

namespace kvmt {

namespace {

// Ranges beyond this are not modelled (offsets would overflow): not applicable.
constexpr uint64_t kMaxPageIndex = 1ULL << 24;

Prediction not_applicable()
{
	Prediction p;
	p.applicable = false;
	return p;
}

Prediction fails(int err)
{
	Prediction p;
	p.err = err;
	return p;
}

}  // namespace

bool op_offered(const GmemModelConfig &c, OpKind kind)
{
	switch (kind) {
	case OpKind::GuestRead:
	case OpKind::GuestWrite:
		return c.guest;
	case OpKind::Convert:
		return c.family != AttributesFamily::None;
	case OpKind::Hold:
	case OpKind::Release:
		return c.max_holders > 0;
	default:
		return true;
	}
}

GmemModel::GmemModel(const GmemModelConfig &config) : cfg_(config)
{
	Page p;
	p.state = cfg_.init_shared ? PageState::Shared : PageState::Private;
	pages_.assign(cfg_.pages, p);
}

PageContent GmemModel::content(uint64_t page) const
{
	int64_t f = pages_.at(page).folio;
	return f < 0 ? PageContent::zero() : folios_[f];
}

bool GmemModel::in_file(uint64_t first, uint64_t count) const
{
	return first <= cfg_.pages && count <= cfg_.pages - first;
}

int64_t GmemModel::folio_of(uint64_t page)
{
	Page &p = pages_[page];
	if (p.folio < 0) {
		p.folio = static_cast<int64_t>(folios_.size());
		folios_.push_back(PageContent::zero());  // a page is zeroed once, when allocated
	}
	return p.folio;
}

// A host access through the mapping: SIGBUS beyond the file and on private
// pages; otherwise the page is faulted in (allocated) and read or written.
PageExpect GmemModel::host_touch(uint64_t page, const PageContent *write)
{
	if (page >= cfg_.pages || pages_[page].state == PageState::Private)
		return {true, PageContent::any()};
	int64_t f = folio_of(page);
	PageExpect seen = {false, folios_[f]};
	if (write)
		folios_[f] = *write;
	return seen;
}

Prediction GmemModel::apply(const GmemOp &op)
{
	if (!op_offered(cfg_, op.kind) || op.first > kMaxPageIndex || op.count > kMaxPageIndex)
		return not_applicable();
	switch (op.kind) {
	case OpKind::Allocate:
		return allocate(op);
	case OpKind::Punch:
		return punch(op);
	case OpKind::HostRead:
	case OpKind::HostWrite:
	case OpKind::ForkCheck:
		return host_access(op);
	case OpKind::GuestRead:
	case OpKind::GuestWrite:
		return guest_access(op);
	case OpKind::Hold:
		return hold(op);
	case OpKind::Release:
		return release();
	case OpKind::Convert:
		return convert(op);
	}
	return not_applicable();
}

// fallocate(KEEP_SIZE): unaligned or empty ranges and ranges past the end
// of the file are refused; otherwise missing pages are allocated (zeroed).
Prediction GmemModel::allocate(const GmemOp &op)
{
	if (op.misalign || !op.count || !in_file(op.first, op.count))
		return fails(EINVAL);
	for (uint64_t i = op.first; i < op.first + op.count; i++)
		folio_of(i);
	return Prediction();
}

// fallocate(PUNCH_HOLE|KEEP_SIZE): frees the pages but keeps their state;
// a range past the end of the file is fine (nothing there to free).
Prediction GmemModel::punch(const GmemOp &op)
{
	if (op.misalign || !op.count)
		return fails(EINVAL);
	for (uint64_t i = op.first; i < op.first + op.count && i < cfg_.pages; i++)
		if (!cfg_.broken_punch)
			pages_[i].folio = -1;  // a reference holder keeps the old folio
	return Prediction();
}

Prediction GmemModel::host_access(const GmemOp &op)
{
	if (!op.count || op.first >= cfg_.mapped_pages || op.count > cfg_.mapped_pages - op.first)
		return not_applicable();
	PageContent written = PageContent::pattern(op.seed);
	const PageContent *write = op.kind == OpKind::HostWrite ? &written : nullptr;
	Prediction p;
	for (uint64_t i = op.first; i < op.first + op.count; i++)
		p.pages.push_back(host_touch(i, write));
	return p;
}

// The guest reaches the pages through its memslot (the file's size); a
// private page only when the VM type lets the guest use private memory.
Prediction GmemModel::guest_access(const GmemOp &op)
{
	if (!op.count || op.count > cfg_.max_guest_pages || !in_file(op.first, op.count))
		return not_applicable();
	for (uint64_t i = op.first; i < op.first + op.count; i++)
		if (pages_[i].state == PageState::Private && !cfg_.guest_private)
			return not_applicable();
	Prediction p;
	for (uint64_t i = op.first; i < op.first + op.count; i++) {
		int64_t f = folio_of(i);
		p.pages.push_back({false, folios_[f]});
		if (op.kind == OpKind::GuestWrite)
			folios_[f] = PageContent::pattern(op.seed);
	}
	return p;
}

// vmsplice into a pipe: the page is faulted in and referenced; memory that
// would SIGBUS (private, beyond the file) gives EFAULT instead.
Prediction GmemModel::hold(const GmemOp &op)
{
	if (op.count != 1 || op.first >= cfg_.mapped_pages || holders_.size() >= cfg_.max_holders)
		return not_applicable();
	if (op.first >= cfg_.pages || pages_[op.first].state == PageState::Private)
		return fails(EFAULT);
	holders_.push_back({folio_of(op.first), op.first});
	return Prediction();
}

// The oldest reference reads its page back (the folio it holds, even after
// a punch took it out of the file) and is dropped.
Prediction GmemModel::release()
{
	if (holders_.empty())
		return not_applicable();
	Prediction p;
	p.pages.push_back({false, folios_[holders_.front().folio]});
	p.held_page = holders_.front().page;
	holders_.pop_front();
	return p;
}

Prediction GmemModel::convert(const GmemOp &op)
{
	Direction dir = op.to_private ? Direction::ToPrivate : Direction::ToShared;
	ContractCell cell = contract_cell(cfg_.vm_type, dir, op.mode, LaunchPhase::BeforeFinalize,
					  cfg_.family);
	if (!cell.offered)
		return not_applicable();  // no flags value exists for the mode
	// Validation (spec section 3): ENOTTY, the flags and the VM type (the
	// cell's EINVAL), then the range (EINVAL). A refused mode (EOPNOTSUPP,
	// error_offset = start; section 4) comes before the no-op success and the
	// reference check (EAGAIN); its order against the range checks is not
	// stated, so a request that fails both may get either errno.
	if (cell.err == ENOTTY || cell.err == EINVAL)
		return fails(cell.err);
	bool bad_range = op.misalign || !op.count || !in_file(op.first, op.count);
	if (bad_range || cell.err) {
		Prediction p = fails(bad_range ? EINVAL : cell.err);
		if (cell.err == EOPNOTSUPP) {
			p.also_allowed = bad_range ? EOPNOTSUPP : 0;
			p.check_error_offset = true;
			p.error_offset = op.first * page_size() + op.misalign;
		}
		return p;
	}
	for (uint64_t i = op.first; op.to_private && i < op.first + op.count; i++)
		for (const Held &held : holders_)
			if (pages_[i].folio == held.folio) {
				Prediction p = fails(EAGAIN);  // and nothing changes
				p.check_error_offset = true;
				p.error_offset = i * page_size();
				return p;
			}
	convert_contents(op, cell.content);
	return Prediction();
}

// A mode applies to the allocated pages of the whole range, including pages
// already in the target state; pages not allocated stay so (zero when touched).
void GmemModel::convert_contents(const GmemOp &op, Content c)
{
	for (uint64_t i = op.first; i < op.first + op.count; i++) {
		Page &p = pages_[i];
		p.state = op.to_private ? PageState::Private : PageState::Shared;
		if (p.folio < 0 || c == Content::Preserved)
			continue;
		folios_[p.folio] = c == Content::Zeroed ? PageContent::zero() : PageContent::any();
	}
}

}  // namespace kvmt
