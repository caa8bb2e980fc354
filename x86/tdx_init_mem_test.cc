// TDX initial memory on guest_memfd: KVM_TDX_INIT_MEM_REGION, in place with
// source_addr = NULL (spec section 3, "Populate") and from a separate source
// buffer (mainline 6.16+).
//
// Fixture tdx, two variants:
//   in_place  an MMAP|INIT_SHARED guest_memfd with per-gmem attributes: the
//             host writes the initial image through the gmem mapping while
//             shared, converts it to private and populates it in place.
//   legacy    a flags-0 guest_memfd with per-VM attributes; the image comes
//             from source_addr.
//
// The launch follows Documentation/virt/kvm/x86/intel-tdx.rst: KVM_CREATE_VM
// (KVM_X86_TDX_VM) -> KVM_TDX_CAPABILITIES -> KVM_TDX_INIT_VM -> split
// irqchip -> KVM_CREATE_VCPU -> KVM_SET_CPUID2 -> KVM_TDX_INIT_VCPU -> memory
// -> KVM_TDX_INIT_MEM_REGION -> KVM_TDX_FINALIZE_VM. The TD's CPUID is
// KVM's supported values restricted to what the TDX module lets userspace
// configure, XFAM what both support, no TD attributes (no debug).
//
// Running the TD to read its memory back is not attempted: that needs TD
// boot code (reset vector, TDCALL-based exits) this suite does not have.
#include <sys/ioctl.h>

#include <cstring>
#include <memory>

#include "coco_x86.hh"
#include "guest_memfd.hh"
#include "kvm_uapi.hh"
#include "page_size.hh"
#include "pattern.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "tdx_uapi_x86.hh"
#include "test.hh"
#include "vcpu.hh"
#include "vm.hh"
#include "hex.hh"

using namespace kvmt;
using namespace kvmt::x86;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPages = 4;  // host pages: the guest_memfd's and nr_pages' unit
constexpr uint64_t kGpa = 0x80000000ULL;  // below the shared bit of a 48-bit GPAW
constexpr uint32_t kSlot = 1;
constexpr uint64_t kSeed = 0x7d8;
constexpr int kIoapicPins = 24;
constexpr uint32_t kGuestPhysBits = 48;  // CPUID 0x80000008 EAX[23:16]: GPAW 48

uint64_t gmem_size()
{
	return kPages * page_size();
}

// A fixed struct followed by a struct kvm_cpuid2 and its entries.
template <typename Head>
class WithCpuid {
public:
	explicit WithCpuid(uint32_t nent)
		: buf_(sizeof(Head) + 8 + nent * sizeof(kvm_cpuid_entry2), 0)
	{
		nent_ref() = nent;
	}
	Head &head() { return *reinterpret_cast<Head *>(buf_.data()); }
	uint32_t &nent_ref() { return *reinterpret_cast<uint32_t *>(buf_.data() + sizeof(Head)); }
	kvm_cpuid_entry2 *entries()
	{
		return reinterpret_cast<kvm_cpuid_entry2 *>(buf_.data() + sizeof(Head) + 8);
	}
	void *data() { return buf_.data(); }

private:
	std::vector<uint8_t> buf_;
};

struct TdxResult {
	int err;
	uint64_t hw_error;
};

TdxResult tdx_op(int fd, uint32_t id, uint32_t flags, uint64_t data)
{
	kvm_tdx_cmd cmd = {};
	cmd.id = id;
	cmd.flags = flags;
	cmd.data = data;
	int r = ioctl(fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	return {r ? errno : 0, cmd.hw_error};
}

void tdx_op_ok(int fd, uint32_t id, uint32_t flags, uint64_t data, const char *what)
{
	TdxResult r = tdx_op(fd, id, flags, data);
	if (r.err)
		throw Error(std::string(what) + ": " + errno_name(r.err) + " (TDX error " + hex(r.hw_error) + ")");
}

class TdxLaunch {
public:
	explicit TdxLaunch(const AttributeModeVariant &v) : vm_(vm_type_by_name("tdx")), in_place_(v.in_place)
	{
		// What the variant needs, before the TD takes a key.
		uint64_t flags = require_attribute_mode(vm_, in_place_);
		if (in_place_)
			keep_flags_ = keep_contents_flags();

		init_vm();
		if (int err = vm_.__enable_cap(KVM_CAP_SPLIT_IRQCHIP, kIoapicPins))
			throw Error("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): " + errno_name(err));
		vcpu_ = vm_.create_vcpu(0);
		// x2APIC (which KVM_TDX_INIT_VCPU turns on) must be in the vCPU's CPUID.
		set_vcpu_cpuid(*vcpu_, supported_cpuid());
		tdx_op_ok(vcpu_->fd(), KVM_TDX_INIT_VCPU, 0, 0, "KVM_TDX_INIT_VCPU");

		gmem_ = std::make_unique<GuestMemfd>(vm_, gmem_size(), flags);
		if (in_place_) {
			shared_ = gmem_->map();
		} else {
			shared_ = Mapping::anonymous(gmem_size());
			source_ = Mapping::anonymous(gmem_size());
		}
		vm_.set_memslot({kSlot, 0, kGpa, gmem_size(), shared_.data(), gmem_->fd(), 0});
	}

	bool in_place() const { return in_place_; }
	uint8_t *contents(uint64_t page)
	{
		return (in_place_ ? shared_ : source_).data() + page * page_size();
	}

	void convert(uint64_t page, uint64_t npages, bool to_private)
	{
		uint64_t attrs = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		uint64_t offset = page * page_size(), size = npages * page_size();
		int err = in_place_ ? gmem_->set_attributes(offset, size, attrs, keep_flags_).err
				    : vm_.__set_memory_attributes(kGpa + offset, size, attrs);
		if (err)
			throw Error(std::string("converting pages to ") + (to_private ? "private" : "shared") +
				    ": " + errno_name(err));
	}

	struct InitMemResult {
		TdxResult r;
		kvm_tdx_init_mem_region region;  // as KVM wrote it back
	};
	InitMemResult init_mem_region(uint64_t page, uint64_t npages)
	{
		InitMemResult res = {};
		res.region.source_addr = in_place_ ? 0 : reinterpret_cast<uint64_t>(contents(page));
		res.region.gpa = kGpa + page * page_size();
		res.region.nr_pages = npages;
		res.r = tdx_op(vcpu_->fd(), KVM_TDX_INIT_MEM_REGION, KVM_TDX_MEASURE_MEMORY_REGION,
			       reinterpret_cast<uint64_t>(&res.region));
		return res;
	}
	TdxResult finalize() { return tdx_op(vm_.fd(), KVM_TDX_FINALIZE_VM, 0, 0); }

	// In place, a private page is unreachable through the host mapping.
	void expect_host_sigbus(uint64_t page, uint64_t npages, Where where = Where::here())
	{
		if (!in_place_)
			return;
		EXPECT_EQ(count_sigbus_pages(contents(page), npages * page_size(), Access::Read), npages)
			<< where << "host reads of pages " << page << "+" << npages;
	}

private:
	// KVM_TDX_CAPABILITIES, then KVM_TDX_INIT_VM with a CPUID made of the
	// configurable leaves the module reports.
	void init_vm()
	{
		uint32_t nent = 64;
		std::unique_ptr<WithCpuid<TdxCapabilitiesHead>> caps;
		for (;;) {
			caps = std::make_unique<WithCpuid<TdxCapabilitiesHead>>(nent);
			TdxResult r = tdx_op(vm_.fd(), KVM_TDX_CAPABILITIES, 0, reinterpret_cast<uint64_t>(caps->data()));
			if (r.err == E2BIG && nent < 1024) {
				nent *= 2;
				continue;
			}
			if (r.err)
				throw Error("KVM_TDX_CAPABILITIES: " + errno_name(r.err));
			break;
		}
		std::vector<kvm_cpuid_entry2> supported = supported_cpuid();
		uint32_t n = caps->nent_ref();
		WithCpuid<TdxInitVmHead> init(n);
		uint64_t xcr0 = 0;
		if (const kvm_cpuid_entry2 *d = find_cpuid(supported, 0xd, 0))
			xcr0 = ((uint64_t)d->edx << 32) | d->eax;
		uint64_t xss = 0;
		if (const kvm_cpuid_entry2 *d = find_cpuid(supported, 0xd, 1))
			xss = ((uint64_t)d->edx << 32) | d->ecx;
		init.head().attributes = 0;
		init.head().xfam = (xcr0 | xss) & caps->head().supported_xfam;
		for (uint32_t i = 0; i < n; i++) {
			const kvm_cpuid_entry2 &cfg = caps->entries()[i];  // configurable bits
			kvm_cpuid_entry2 &e = init.entries()[i];
			e = cfg;
			const kvm_cpuid_entry2 *s = find_cpuid(supported, cfg.function, cfg.index);
			e.eax = s ? s->eax & cfg.eax : 0;
			e.ebx = s ? s->ebx & cfg.ebx : 0;
			e.ecx = s ? s->ecx & cfg.ecx : 0;
			e.edx = s ? s->edx & cfg.edx : 0;
			if (cfg.function == 0x80000008)
				e.eax = (e.eax & ~0xff0000u) | (kGuestPhysBits << 16);
		}
		tdx_op_ok(vm_.fd(), KVM_TDX_INIT_VM, 0, reinterpret_cast<uint64_t>(init.data()), "KVM_TDX_INIT_VM");
	}

	Vm vm_;
	bool in_place_;
	uint64_t keep_flags_ = 0;
	std::unique_ptr<Vcpu> vcpu_;
	std::unique_ptr<GuestMemfd> gmem_;
	Mapping shared_;
	Mapping source_;
};

KVMT_FIXTURE(tdx, TdxLaunch, AttributeModeVariant, attribute_mode_variants());

// The region [page, page + npages) was added (else the test ends) and KVM
// advanced the request past it.
void check_populated(const TdxLaunch::InitMemResult &res, uint64_t page, uint64_t npages,
		     Where where = Where::here())
{
	ASSERT_EQ(Errno(res.r.err), Errno(0))
		<< where << "KVM_TDX_INIT_MEM_REGION, TDX error " << hex(res.r.hw_error);
	EXPECT_EQ(res.region.nr_pages, 0u) << where << "pages left";
	EXPECT_EQ(res.region.gpa, kGpa + (page + npages) * page_size()) << where << "next gpa";
}

// Spec 3 "Populate": private pages written while shared are added to the TD (in place: the
// host can no longer read them; legacy: the source is only read), and the TD finalizes.
KVMT_TEST_F(tdx, init_mem_region_populates)
{
	fill_pattern(f.contents(0), 0, gmem_size(), kSeed);
	f.convert(0, kPages, true);
	check_populated(f.init_mem_region(0, kPages), 0, kPages);
	f.expect_host_sigbus(0, kPages);
	if (!f.in_place())  // the source is only read
		EXPECT_EQ(find_pattern_mismatch(f.contents(0), 0, gmem_size(), kSeed), -1);
	TdxResult fin = f.finalize();
	EXPECT_EQ(Errno(fin.err), Errno(0)) << "KVM_TDX_FINALIZE_VM, TDX error " << hex(fin.hw_error);
}

// Spec 3 "Populate": populated ranges must be private; a shared one is refused (EINVAL) untouched.
KVMT_TEST_F(tdx, shared_range_not_populated)
{
	fill_pattern(f.contents(0), 0, gmem_size(), kSeed);
	TdxLaunch::InitMemResult res = f.init_mem_region(0, 1);
	EXPECT_EQ(Errno(res.r.err), Errno(EINVAL));
	EXPECT_EQ(res.region.nr_pages, 1u) << "pages left";
	EXPECT_EQ(find_pattern_mismatch(f.contents(0), 0, page_size(), kSeed), -1);
	f.convert(0, 1, true);
	check_populated(f.init_mem_region(0, 1), 0, 1);
}

// After KVM_TDX_FINALIZE_VM the initial memory is fixed: a further region is refused (EINVAL).
KVMT_TEST_F(tdx, init_mem_region_after_finalize_rejected)
{
	fill_pattern(f.contents(0), 0, gmem_size(), kSeed);
	f.convert(0, kPages, true);
	check_populated(f.init_mem_region(0, 1), 0, 1);
	TdxResult fin = f.finalize();
	ASSERT_EQ(Errno(fin.err), Errno(0)) << "KVM_TDX_FINALIZE_VM, TDX error " << hex(fin.hw_error);
	EXPECT_EQ(Errno(f.init_mem_region(1, 1).r.err), Errno(EINVAL));
}

}  // namespace
