#include "guest_vm.hh"

#include <cstring>

#include "errors.hh"
#include "guest_image.hh"
#include "page_size.hh"
#include "test.hh"

extern "C" void kvmt_guest_start(kvmt::GuestFn fn, uint64_t arg0, uint64_t arg1);

namespace kvmt {

namespace {
constexpr uint64_t kSystemAllocStart = 0x100000;  // nothing mapped below 1 MiB
constexpr uint64_t kStackSize = 64 * 1024;
// Page tables, stacks and buffers (GuestPages: host pages, so their size
// follows the host's page size): 8 MiB with 4 KiB pages.
constexpr uint64_t kSystemSparePages = 2048;

uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

// The program's segments hold ASan's red zones between globals: copy them
// byte by byte without instrumentation (memcpy would be intercepted).
__attribute__((no_sanitize("address"))) void copy_segment(void *dst, const void *src, uint64_t len)
{
	auto *d = static_cast<volatile uint8_t *>(dst);
	auto *s = static_cast<const volatile uint8_t *>(src);
	for (uint64_t i = 0; i < len; i++)
		d[i] = s[i];
}
}  // namespace

// Anonymous memory at guest-physical 0, handed out page by page.
class GuestVm::SystemMemory : public PageAllocator {
public:
	explicit SystemMemory(Vm &vm) : vm_(vm)
	{
		uint64_t image = 0;
		for (const ImageSegment &s : program_segments())
			image += s.size;
		uint64_t size = round_up(kSystemAllocStart + image + kSystemSparePages * page_size(), 2 << 20);
		mem_ = Mapping::anonymous(size);
		vm.set_memslot({kSystemSlot, 0, 0, size, mem_.data(), -1, 0});
		next_ = kSystemAllocStart;
	}

	uint64_t alloc(uint64_t size)
	{
		size = round_up(size, kGuestPageSize);
		if (next_ + size > mem_.size())
			throw Error("guest system memory exhausted");
		uint64_t gpa = next_;
		next_ += size;
		return gpa;
	}
	uint64_t alloc_page() override { return alloc(kGuestPageSize); }
	void *page_hva(uint64_t gpa) override { return mem_.data() + gpa; }

private:
	Vm &vm_;
	Mapping mem_;
	uint64_t next_;
};

GuestVm::GuestVm(const VmTypeInfo &type) : vm_(type)
{
	if (type.needs_launch_flow)
		skip(std::string("running guest code in a ") + type.name +
		     " VM needs its launch flow, which this program does not drive");
	system_ = std::make_unique<SystemMemory>(vm_);
	tables_ = std::make_unique<PageTables>(*system_);
	for (const ImageSegment &seg : program_segments()) {
		uint64_t gpa = system_->alloc(seg.size);
		copy_segment(system_->page_hva(gpa), reinterpret_cast<const void *>(seg.vaddr), seg.size);
		for (uint64_t off = 0; off < seg.size; off += kGuestPageSize)
			tables_->map(seg.vaddr + off, gpa + off);
	}
	arch::setup_vm(vm_, *tables_);
	guest_global(host_page_size_for_guest) = page_size();
}

GuestVm::~GuestVm() = default;

uint64_t GuestVm::alloc_system_memory(uint64_t size)
{
	uint64_t gpa = system_->alloc(size);
	map_identity(gpa, size);
	return gpa;
}

Vcpu &GuestVm::add_vcpu(GuestFn fn, uint64_t arg0, uint64_t arg1)
{
	uint64_t stack = alloc_system_memory(kStackSize);
	vcpus_.push_back(vm_.create_vcpu(static_cast<int>(vcpus_.size())));
	Vcpu &v = *vcpus_.back();
	arch::setup_vcpu(v, *tables_, reinterpret_cast<uint64_t>(&kvmt_guest_start),
			 stack + kStackSize, reinterpret_cast<uint64_t>(fn), arg0, arg1);
	return v;
}

void GuestVm::map_identity(uint64_t gpa, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += kGuestPageSize)
		tables_->map(gpa + off, gpa + off);
}

void GuestVm::add_memory_slot(uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	vm_.set_memslot({slot, 0, gpa, size, hva, -1, 0});
	map_identity(gpa, size);
}

void GuestVm::add_gmem_slot(uint32_t slot, uint64_t gpa, uint64_t size, int gmem_fd,
			   uint64_t gmem_offset, void *hva)
{
	vm_.set_memslot({slot, 0, gpa, size, hva, gmem_fd, gmem_offset});
	map_identity(gpa, size);
}

void *GuestVm::gva_to_hva(uint64_t gva)
{
	std::optional<uint64_t> gpa = tables_->translate(gva);
	return gpa ? vm_.gpa_to_hva(*gpa) : nullptr;
}

static const char *guest_string(const char *p);

void require_native_guest_code(const std::string &what)
{
	static const std::string reason = arch::guest_code_emulated_reason();
	if (!reason.empty())
		skip("guest code here runs in KVM's instruction emulator, which reads userspace_addr (" +
		     reason + "): " + what + " is checked where guest code runs natively (the QEMU lanes)");
}

// "guest: 'seen == want' failed: 0x0 vs 0x5b; offset 0x3000"
std::string format_guest_failure(const Ucall &uc, const char *text)
{
	std::string s = std::string("guest: '") + text + "' failed";
	uint64_t n = uc.nargs < kUcallArgs ? uc.nargs : kUcallArgs;
	if (uc.fmt && n >= 2) {
		s += ": " + show(uc.args[0]) + " vs " + show(uc.args[1]);
		const char *fmt = guest_string(uc.fmt);
		if (*fmt) {
			char context[256];
			snprintf(context, sizeof(context), fmt, uc.args[2], uc.args[3]);
			s += std::string("; ") + context;
		}
		return s;
	}
	for (uint64_t i = 0; i < n; i++)
		s += (i ? ", " : " (values ") + show(uc.args[i]) + (i + 1 == n ? ")" : "");
	return s;
}

static const char *guest_string(const char *p)
{
	return p && in_program_image(p, 1) ? p : "<unreadable>";
}

GuestVm::Step GuestVm::step(Vcpu &vcpu)
{
	Step st = {vcpu.__run(), false, {}};
	if (st.err)
		return st;
	std::optional<uint64_t> gva = arch::ucall_exit(vcpu);
	if (!gva)
		return st;
	const Ucall *p = static_cast<const Ucall *>(gva_to_hva(*gva));
	if (!p)
		throw Error("ucall block at unmapped guest address");
	st.is_ucall = true;
	st.ucall = *p;
	if (st.ucall.cmd == UCALL_ABORT) {
		record_failure(guest_string(st.ucall.file), static_cast<int>(st.ucall.line),
			       format_guest_failure(st.ucall, guest_string(st.ucall.text)));
		throw TestFailure{};
	}
	return st;
}

Ucall GuestVm::run(Vcpu &vcpu)
{
	Step st = step(vcpu);
	if (st.err)
		throw Error("KVM_RUN: " + errno_name(st.err) + " after " + vcpu.exit_reason_name());
	if (!st.is_ucall)
		throw Error("unexpected " + vcpu.exit_reason_name() + " from vCPU " +
			    std::to_string(vcpu.id()) + ": " + arch::describe_exit(vcpu));
	return st.ucall;
}

static std::string ucall_name(const Ucall &uc)
{
	if (uc.cmd == UCALL_SYNC)
		return "GUEST_SYNC(" + std::to_string(uc.args[0]) + ")";
	if (uc.cmd == UCALL_DONE)
		return "GUEST_DONE";
	return "ucall " + std::to_string(uc.cmd);
}

void GuestVm::run_to_done(Vcpu &vcpu)
{
	Ucall uc = run(vcpu);
	if (uc.cmd != UCALL_DONE)
		throw Error("expected GUEST_DONE, got " + ucall_name(uc));
}

Ucall GuestVm::run_to_sync(Vcpu &vcpu, uint64_t stage)
{
	Ucall uc = run(vcpu);
	if (uc.cmd != UCALL_SYNC || uc.args[0] != stage)
		throw Error("expected GUEST_SYNC(" + std::to_string(stage) + "), got " +
			    ucall_name(uc));
	return uc;
}

}  // namespace kvmt
