// Guest code of private_mem_conversions_test: a small interpreter for the
// conversion scripts the host writes, raw hypercalls, and single-word
// accesses for the memory-fault and MMIO cases.
#include "guest.hh"
#include "hypercall_x86.hh"
#include "pattern.hh"
#include "private_mem_conversions.hh"

namespace kvmt::x86 {

ConversionScript conversion_scripts[kMaxConversionVcpus];
HypercallRequest hypercall_requests[kMaxHypercallRequests];
uint64_t hypercall_request_count;

constexpr uint64_t kPage = 4096;

static void check_pages(const ConversionScript &s, const ConversionOp &op)
{
	const volatile uint8_t *mem =
		reinterpret_cast<const volatile uint8_t *>(s.gpa + op.first_page * kPage);
	uint64_t offset = s.file_offset + op.first_page * kPage;
	for (uint64_t i = 0; i < op.npages * kPage; i++) {
		uint8_t want = op.arg ? pattern_byte(op.arg, offset + i) : 0;
		GUEST_ASSERT_EQ(mem[i], want, offset + i, op.arg);
	}
}

static void write_pages(const ConversionScript &s, const ConversionOp &op)
{
	volatile uint8_t *mem = reinterpret_cast<volatile uint8_t *>(s.gpa + op.first_page * kPage);
	uint64_t offset = s.file_offset + op.first_page * kPage;
	for (uint64_t i = 0; i < op.npages * kPage; i++)
		mem[i] = pattern_byte(op.arg, offset + i);
}

void guest_run_conversion_script(uint64_t index, uint64_t)
{
	const ConversionScript &s = conversion_scripts[index];
	for (int i = 0; i < kMaxConversionOps; i++) {
		const ConversionOp &op = s.ops[i];
		switch (op.kind) {
		case kOpEnd:
			return;
		case kOpCheck:
			check_pages(s, op);
			break;
		case kOpWrite:
			write_pages(s, op);
			break;
		case kOpMap: {
			uint64_t ret = guest_map_gpa_range(s.gpa + op.first_page * kPage, op.npages,
							   op.arg);
			GUEST_ASSERT_EQ(ret, 0, s.gpa + op.first_page * kPage, op.npages);
			break;
		}
		case kOpSync:
			GUEST_SYNC(op.arg);
			break;
		default:
			GUEST_ASSERT_EQ(op.kind, kOpEnd, i);
		}
	}
}

void guest_issue_hypercalls(uint64_t, uint64_t)
{
	for (uint64_t i = 0; i < hypercall_request_count; i++) {
		const HypercallRequest &r = hypercall_requests[i];
		uint64_t ret = guest_kvm_hypercall(r.nr, r.args[0], r.args[1], r.args[2], r.args[3]);
		GUEST_ASSERT_EQ(ret, r.expect_ret, i);
		GUEST_SYNC(i);
	}
}

void guest_read_then_write(uint64_t gpa, uint64_t value)
{
	volatile uint64_t *p = reinterpret_cast<volatile uint64_t *>(gpa);
	for (;;) {
		uint64_t seen = *p;
		GUEST_SYNC(1, seen);
		*p = value;
		GUEST_SYNC(2);
	}
}

}  // namespace kvmt::x86
