// The random-sequence oracle without KVM: each rule of the contract
// (../shared/spec/gmem-conversion-uapi.md section 3, host-kernel.md) as the
// model predicts it.
#include <cerrno>

#include "gmem_model.hh"
#include "page_size.hh"
#include "test.hh"

using namespace kvmt;

namespace {

GmemOp convert(uint64_t first, uint64_t count, bool to_private,
	       ContentMode mode = ContentMode::Unspecified)
{
	GmemOp o = make_op(OpKind::Convert, first, count);
	o.to_private = to_private;
	o.mode = mode;
	return o;
}

GmemModelConfig shared_file()
{
	GmemModelConfig c;
	c.pages = 16;
	c.mapped_pages = 18;
	c.guest = true;
	return c;
}

GmemModelConfig with_attributes(const char *type, AttributesFamily family)
{
	GmemModelConfig c = shared_file();
	c.vm_type = type;
	c.family = family;
	c.guest_private = std::string(type) != "default";
	return c;
}

PageExpect read_page(GmemModel &m, uint64_t page)
{
	Prediction p = m.apply(make_op(OpKind::HostRead, page, 1));
	return p.pages.at(0);
}

bool is_pattern(const PageExpect &e, uint64_t seed)
{
	return !e.sigbus && e.content == PageContent::pattern(seed);
}

bool is_zero(const PageExpect &e)
{
	return !e.sigbus && e.content == PageContent::zero();
}

}  // namespace

KVMT_TEST(gmem_model, fresh_shared_page_reads_zero_and_is_allocated_by_the_read)
{
	GmemModel m(shared_file());
	ASSERT_FALSE(m.allocated(3));
	ASSERT_TRUE(is_zero(read_page(m, 3)));
	ASSERT_TRUE(m.allocated(3));
}

KVMT_TEST(gmem_model, host_write_then_read)
{
	GmemModel m(shared_file());
	Prediction w = m.apply(make_op(OpKind::HostWrite, 2, 3, 0x77));
	ASSERT_EQ(w.err, 0);
	ASSERT_EQ(w.pages.size(), 3u);
	ASSERT_TRUE(is_zero(w.pages[0]));  // a write reports what it overwrites
	for (uint64_t p = 2; p < 5; p++)
		ASSERT_TRUE(is_pattern(read_page(m, p), 0x77));
	ASSERT_TRUE(is_zero(read_page(m, 5)));
}

KVMT_TEST(gmem_model, beyond_the_file_sigbus)
{
	GmemModel m(shared_file());
	Prediction p = m.apply(make_op(OpKind::HostRead, 15, 3));
	ASSERT_FALSE(p.pages[0].sigbus);
	ASSERT_TRUE(p.pages[1].sigbus);
	ASSERT_TRUE(p.pages[2].sigbus);
	ASSERT_FALSE(m.apply(make_op(OpKind::HostRead, 17, 2)).applicable);  // past the mapping
}

KVMT_TEST(gmem_model, private_file_sigbus_everywhere_and_efault_for_references)
{
	GmemModelConfig c = shared_file();
	c.init_shared = false;
	GmemModel m(c);
	ASSERT_TRUE(read_page(m, 0).sigbus);
	ASSERT_TRUE(m.apply(make_op(OpKind::HostWrite, 0, 2, 5)).pages[1].sigbus);
	ASSERT_FALSE(m.allocated(0));
	ASSERT_EQ(m.apply(make_op(OpKind::Hold, 4)).err, EFAULT);
	ASSERT_EQ(m.holders(), 0u);
	// The default VM's guest may not touch private memory: not generated.
	ASSERT_FALSE(m.apply(make_op(OpKind::GuestRead, 0, 1)).applicable);
	// fallocate allocates without changing the state.
	ASSERT_EQ(m.apply(make_op(OpKind::Allocate, 0, 4)).err, 0);
	ASSERT_TRUE(m.allocated(0));
	ASSERT_TRUE(read_page(m, 0).sigbus);
}

KVMT_TEST(gmem_model, punch_frees_pages_and_keeps_their_state)
{
	GmemModel m(shared_file());
	m.apply(make_op(OpKind::HostWrite, 0, 4, 9));
	ASSERT_EQ(m.apply(make_op(OpKind::Punch, 1, 2)).err, 0);
	ASSERT_FALSE(m.allocated(1));
	ASSERT_EQ(page_state_name(m.state(1)), page_state_name(PageState::Shared));
	ASSERT_TRUE(is_pattern(read_page(m, 0), 9));
	ASSERT_TRUE(is_zero(read_page(m, 1)));
	ASSERT_TRUE(is_zero(read_page(m, 2)));
	ASSERT_TRUE(is_pattern(read_page(m, 3), 9));
}

KVMT_TEST(gmem_model, fallocate_bad_ranges)
{
	GmemModel m(shared_file());
	ASSERT_EQ(m.apply(make_op(OpKind::Allocate, 15, 2)).err, EINVAL);  // past the end
	ASSERT_FALSE(m.allocated(15));
	ASSERT_EQ(m.apply(make_op(OpKind::Allocate, 3, 0)).err, EINVAL);   // empty
	ASSERT_EQ(m.apply(make_op(OpKind::Punch, 3, 0)).err, EINVAL);
	GmemOp unaligned = make_op(OpKind::Punch, 3, 1);
	unaligned.misalign = 1;
	ASSERT_EQ(m.apply(unaligned).err, EINVAL);
	ASSERT_EQ(m.apply(make_op(OpKind::Punch, 16, 1)).err, 0);  // at the end: nothing to free
	ASSERT_EQ(m.apply(make_op(OpKind::Punch, 14, 5)).err, 0);  // straddling the end
	ASSERT_EQ(m.apply(make_op(OpKind::Allocate, 0, 16)).err, 0);
}

KVMT_TEST(gmem_model, reference_keeps_the_old_page_through_a_punch)
{
	GmemModel m(shared_file());
	m.apply(make_op(OpKind::HostWrite, 5, 1, 0x51));
	ASSERT_EQ(m.apply(make_op(OpKind::Hold, 5)).err, 0);
	m.apply(make_op(OpKind::Punch, 5, 1));
	m.apply(make_op(OpKind::HostWrite, 5, 1, 0x52));  // a new page in the file
	Prediction r = m.apply(make_op(OpKind::Release));
	ASSERT_EQ(r.held_page, 5u);
	ASSERT_TRUE(r.pages[0].content == PageContent::pattern(0x51));
	ASSERT_TRUE(is_pattern(read_page(m, 5), 0x52));
	ASSERT_FALSE(m.apply(make_op(OpKind::Release)).applicable);
}

KVMT_TEST(gmem_model, reference_sees_later_writes_to_its_page)
{
	GmemModel m(shared_file());
	ASSERT_EQ(m.apply(make_op(OpKind::Hold, 6)).err, 0);  // faults in a zero page
	m.apply(make_op(OpKind::GuestWrite, 6, 1, 0x61));
	ASSERT_TRUE(m.apply(make_op(OpKind::Release)).pages[0].content == PageContent::pattern(0x61));
}

KVMT_TEST(gmem_model, references_are_limited)
{
	GmemModelConfig c = shared_file();
	c.max_holders = 2;
	GmemModel m(c);
	ASSERT_TRUE(m.apply(make_op(OpKind::Hold, 0)).applicable);
	ASSERT_TRUE(m.apply(make_op(OpKind::Hold, 1)).applicable);
	ASSERT_FALSE(m.apply(make_op(OpKind::Hold, 2)).applicable);
	ASSERT_EQ(m.apply(make_op(OpKind::Hold, 17)).applicable, false);
	m.apply(make_op(OpKind::Release));
	ASSERT_EQ(m.apply(make_op(OpKind::Hold, 17)).err, EFAULT);  // beyond the file
}

KVMT_TEST(gmem_model, guest_write_reports_what_it_overwrites)
{
	GmemModel m(shared_file());
	m.apply(make_op(OpKind::HostWrite, 0, 2, 3));
	Prediction g = m.apply(make_op(OpKind::GuestWrite, 0, 2, 4));
	ASSERT_TRUE(is_pattern(g.pages[1], 3));
	ASSERT_TRUE(is_pattern(read_page(m, 1), 4));
	ASSERT_FALSE(m.apply(make_op(OpKind::GuestRead, 10, 9)).applicable);  // more than 8 pages
	ASSERT_FALSE(m.apply(make_op(OpKind::GuestRead, 15, 2)).applicable);  // past the memslot
}

KVMT_TEST(gmem_model, no_conversions_without_per_gmem_attributes)
{
	GmemModel m(shared_file());
	ASSERT_FALSE(op_offered(m.config(), OpKind::Convert));
	ASSERT_FALSE(m.apply(convert(0, 1, true)).applicable);
}

KVMT_TEST(gmem_model, applied_family_round_trip_preserves_sw_protected)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::Applied));
	m.apply(make_op(OpKind::HostWrite, 0, 4, 8));
	ASSERT_EQ(m.apply(convert(1, 2, true)).err, 0);
	ASSERT_TRUE(read_page(m, 1).sigbus);
	ASSERT_TRUE(is_pattern(read_page(m, 0), 8));
	// The guest reaches private memory and sees the same bytes (in place).
	Prediction g = m.apply(make_op(OpKind::GuestRead, 1, 1));
	ASSERT_TRUE(g.applicable);
	ASSERT_TRUE(is_pattern(g.pages[0], 8));
	ASSERT_EQ(m.apply(convert(0, 4, false)).err, 0);
	ASSERT_TRUE(is_pattern(read_page(m, 2), 8));
}

KVMT_TEST(gmem_model, applied_family_refuses_content_modes)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::Applied));
	ASSERT_EQ(m.apply(convert(0, 1, true, ContentMode::Preserve)).err, EINVAL);
	ASSERT_EQ(m.apply(convert(0, 1, false, ContentMode::Zero)).err, EINVAL);
	ASSERT_EQ(page_state_name(m.state(0)), page_state_name(PageState::Shared));
}

KVMT_TEST(gmem_model, default_vm_conversions_einval)
{
	GmemModel m(with_attributes("default", AttributesFamily::Applied));
	ASSERT_EQ(m.apply(convert(0, 1, true)).err, EINVAL);
	ASSERT_EQ(m.apply(convert(0, 1, false)).err, EINVAL);
}

KVMT_TEST(gmem_model, conversion_bad_ranges_einval)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::Applied));
	ASSERT_EQ(m.apply(convert(0, 0, true)).err, EINVAL);
	ASSERT_EQ(m.apply(convert(15, 2, true)).err, EINVAL);
	GmemOp unaligned = convert(2, 1, true);
	unaligned.misalign = 8;
	ASSERT_EQ(m.apply(unaligned).err, EINVAL);
	ASSERT_EQ(page_state_name(m.state(15)), page_state_name(PageState::Shared));
}

KVMT_TEST(gmem_model, held_page_refuses_to_private_with_its_offset_and_changes_nothing)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::Applied));
	m.apply(make_op(OpKind::Hold, 6));
	m.apply(make_op(OpKind::Hold, 9));
	Prediction p = m.apply(convert(4, 8, true));
	ASSERT_EQ(p.err, EAGAIN);
	ASSERT_TRUE(p.check_error_offset);
	ASSERT_EQ(p.error_offset, 6 * page_size());
	for (uint64_t i = 4; i < 12; i++)
		ASSERT_EQ(page_state_name(m.state(i)), page_state_name(PageState::Shared));
	ASSERT_EQ(m.apply(convert(4, 2, true)).err, 0);  // not held
	ASSERT_EQ(m.apply(convert(6, 1, false)).err, 0);  // to shared: no reference check
	m.apply(make_op(OpKind::Release));
	ASSERT_EQ(m.apply(convert(4, 4, true)).err, 0);
	ASSERT_EQ(m.apply(convert(9, 1, true)).err, EAGAIN);
}

KVMT_TEST(gmem_model, punched_held_page_no_longer_blocks)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::Applied));
	m.apply(make_op(OpKind::Hold, 3));
	m.apply(make_op(OpKind::Punch, 3, 1));
	ASSERT_EQ(m.apply(convert(3, 1, true)).err, 0);
}

KVMT_TEST(gmem_model, content_modes_follow_the_contract_table)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::ContentModes));
	m.apply(make_op(OpKind::HostWrite, 0, 8, 5));
	Prediction zero_to_private = m.apply(convert(0, 2, true, ContentMode::Zero));
	ASSERT_EQ(zero_to_private.err, EOPNOTSUPP);
	ASSERT_TRUE(zero_to_private.check_error_offset);
	ASSERT_EQ(zero_to_private.error_offset, 0u);
	ASSERT_EQ(m.apply(convert(0, 4, true, ContentMode::Preserve)).err, 0);
	ASSERT_EQ(m.apply(convert(0, 1, false, ContentMode::Preserve)).err, 0);
	ASSERT_TRUE(is_pattern(read_page(m, 0), 5));
	ASSERT_EQ(m.apply(convert(1, 1, false, ContentMode::Zero)).err, 0);
	ASSERT_TRUE(is_zero(read_page(m, 1)));
	ASSERT_EQ(m.apply(convert(2, 1, false, ContentMode::Unspecified)).err, 0);
	ASSERT_TRUE(read_page(m, 2).content == PageContent::any());  // scrambled
	// A mode applies to pages already in the target state too.
	ASSERT_EQ(m.apply(convert(4, 1, false, ContentMode::Zero)).err, 0);
	ASSERT_TRUE(is_zero(read_page(m, 4)));
}

KVMT_TEST(gmem_model, conversion_of_unallocated_pages_applies_when_allocated)
{
	GmemModel m(with_attributes("sw_protected", AttributesFamily::ContentModes));
	ASSERT_EQ(m.apply(convert(3, 1, true, ContentMode::Unspecified)).err, 0);
	ASSERT_FALSE(m.allocated(3));
	ASSERT_TRUE(read_page(m, 3).sigbus);
	ASSERT_EQ(m.apply(convert(3, 1, false, ContentMode::Unspecified)).err, 0);
	ASSERT_TRUE(is_zero(read_page(m, 3)));  // never allocated: a fresh zero page
}

KVMT_TEST(gmem_model, snp_refuses_preserve_to_shared)
{
	GmemModelConfig c = with_attributes("snp", AttributesFamily::ContentModes);
	c.guest = false;
	GmemModel m(c);
	ASSERT_EQ(m.apply(convert(0, 2, true)).err, 0);
	Prediction p = m.apply(convert(1, 1, false, ContentMode::Preserve));
	ASSERT_EQ(p.err, EOPNOTSUPP);
	ASSERT_EQ(p.error_offset, page_size());
}

KVMT_TEST(gmem_model, broken_oracle_forgets_punch)
{
	GmemModelConfig c = shared_file();
	c.broken_punch = true;
	GmemModel m(c);
	m.apply(make_op(OpKind::HostWrite, 0, 1, 7));
	m.apply(make_op(OpKind::Punch, 0, 1));
	ASSERT_TRUE(is_pattern(read_page(m, 0), 7));  // wrong on purpose
}
