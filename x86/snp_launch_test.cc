// SEV-SNP launch on guest_memfd: the CPUID page flow of the design
// discussion and in-place population (spec sections 3 and 4).
//
// Fixture snp, two variants:
//   in_place  an MMAP|INIT_SHARED guest_memfd with per-gmem attributes: the
//             host writes initial contents through the gmem mapping while
//             shared, converts to private and KVM_SEV_SNP_LAUNCH_UPDATE
//             measures them in place (uaddr = NULL).
//   legacy    a flags-0 guest_memfd with per-VM attributes (6.11+): the
//             contents come from a separate source buffer (uaddr).
//
// The CPUID flow: load a CPUID page that claims a reserved bit (CPUID
// Fn0000_0001_EDX[10], reserved on every x86 CPU, which the firmware's CPUID
// policy rejects) -> private -> LAUNCH_UPDATE is rejected (EIO, firmware
// INVALID_PARAM) and the firmware leaves its corrected values in the page
// -> back to shared -> the host reads the corrected values -> private ->
// LAUNCH_UPDATE accepts it. In legacy mode KVM copies the corrected page
// back to the source buffer instead.
//
// Running the launched guest is not attempted: that needs SNP guest code
// (GHCB protocol, #VC handling) this suite does not have.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <memory>

#include "coco_x86.hh"
#include "guest_memfd.hh"
#include "kvm_uapi.hh"
#include "page_size.hh"
#include "pattern.hh"
#include "profile.hh"
#include "sev_uapi_x86.hh"
#include "sigbus.hh"
#include "test.hh"
#include "vcpu.hh"
#include "vm.hh"
#include "hex.hh"

using namespace kvmt;
using namespace kvmt::x86;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPages = 4;  // host pages: KVM's gfns and the guest_memfd's unit
constexpr uint64_t kGpa = 0x80000000ULL;
constexpr uint32_t kSlot = 1;
constexpr uint64_t kSeed = 0x5e5;
constexpr uint32_t kReservedLeaf1EdxBit = 1u << 10;

uint64_t gmem_size()
{
	return kPages * page_size();
}

uint64_t gfn_of(uint64_t gpa)
{
	return gpa / page_size();
}

struct LaunchUpdateResult {
	int err;            // KVM's errno, 0 on success
	uint32_t fw_error;  // the firmware's status (kvm_sev_cmd.error)
	kvm_sev_snp_launch_update params;  // as KVM wrote them back
};

class SnpLaunch {
public:
	explicit SnpLaunch(const AttributeModeVariant &v) : vm_(vm_type_by_name("snp")), in_place_(v.in_place)
	{
		int fd = open(kSevDevice, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			skip(std::string(kSevDevice) + " missing (" + errno_name(errno) +
			     "): SNP launch commands go through the SEV firmware device");
		sev_.reset(fd);

		uint64_t flags = require_attribute_mode(vm_, in_place_);
		if (in_place_)
			keep_flags_ = keep_contents_flags();

		kvm_sev_init init = {};  // no VMSA features, default GHCB version
		encrypt_op(KVM_SEV_INIT2, &init, "KVM_SEV_INIT2");
		gmem_ = std::make_unique<GuestMemfd>(vm_, gmem_size(), flags);
		if (in_place_) {
			shared_ = gmem_->map();
		} else {
			shared_ = Mapping::anonymous(gmem_size());
			source_ = Mapping::anonymous(gmem_size());
		}
		vm_.set_memslot({kSlot, 0, kGpa, gmem_size(), shared_.data(), gmem_->fd(), 0});

		kvm_sev_snp_launch_start start = {};
		start.policy = kSnpPolicySmt | kSnpPolicyReservedMbo;
		encrypt_op(KVM_SEV_SNP_LAUNCH_START, &start, "KVM_SEV_SNP_LAUNCH_START");
	}

	Vm &vm() { return vm_; }
	bool in_place() const { return in_place_; }

	// KVM_MEMORY_ENCRYPT_OP on the VM fd; 0 or the errno.
	int __encrypt_op(uint32_t id, void *data, uint32_t *fw_error)
	{
		kvm_sev_cmd cmd = {};
		cmd.id = id;
		cmd.data = reinterpret_cast<uint64_t>(data);
		cmd.sev_fd = sev_.get();
		int r = ioctl(vm_.fd(), KVM_MEMORY_ENCRYPT_OP, &cmd);
		*fw_error = cmd.error;
		return r ? errno : 0;
	}
	void encrypt_op(uint32_t id, void *data, const char *what)
	{
		uint32_t fw = 0;
		if (int err = __encrypt_op(id, data, &fw))
			throw Error(std::string(what) + ": " + errno_name(err) + " (firmware error " + hex(fw) + ")");
	}

	// Where the host writes a page's initial contents: the gmem mapping in
	// place, the source buffer otherwise.
	uint8_t *contents(uint64_t page)
	{
		return (in_place_ ? shared_ : source_).data() + page * page_size();
	}

	LaunchUpdateResult launch_update(uint64_t page, uint64_t npages, uint8_t type)
	{
		LaunchUpdateResult r = {};
		r.params.gfn_start = gfn_of(kGpa) + page;
		r.params.uaddr = in_place_ ? 0 : reinterpret_cast<uint64_t>(contents(page));
		r.params.len = npages * page_size();
		r.params.type = type;
		r.err = __encrypt_op(KVM_SEV_SNP_LAUNCH_UPDATE, &r.params, &r.fw_error);
		return r;
	}

	// Private or shared: gmem attributes in place, per-VM attributes otherwise.
	int __convert(uint64_t page, uint64_t npages, bool to_private)
	{
		uint64_t attrs = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		if (!in_place_)
			return vm_.__set_memory_attributes(kGpa + page * page_size(), npages * page_size(),
							   attrs);
		return gmem_->set_attributes(page * page_size(), npages * page_size(), attrs, keep_flags_).err;
	}
	void convert(uint64_t page, uint64_t npages, bool to_private)
	{
		if (int err = __convert(page, npages, to_private))
			throw Error(std::string("converting pages ") + std::to_string(page) + "+" +
				    std::to_string(npages) + " to " + (to_private ? "private" : "shared") + ": " +
				    errno_name(err));
	}
	uint64_t keep_flags() const { return keep_flags_; }

	// In place, a private page is unreachable through the host mapping.
	void expect_host_sigbus(uint64_t page, uint64_t npages, Where where = Where::here())
	{
		if (!in_place_)
			return;
		EXPECT_EQ(count_sigbus_pages(contents(page), npages * page_size(), Access::Read), npages)
			<< where << "host reads of pages " << page << "+" << npages;
	}

private:
	Vm vm_;
	bool in_place_;
	UniqueFd sev_;
	uint64_t keep_flags_ = 0;
	std::unique_ptr<GuestMemfd> gmem_;
	Mapping shared_;  // the memslot's userspace_addr
	Mapping source_;  // legacy: LAUNCH_UPDATE's uaddr
};

KVMT_FIXTURE(snp, SnpLaunch, AttributeModeVariant, attribute_mode_variants());

// The update of pages [page, page + npages) succeeded (else the test ends) and
// KVM advanced the request past what it populated.
void check_update_ok(const LaunchUpdateResult &r, uint64_t page, uint64_t npages,
		     Where where = Where::here())
{
	ASSERT_EQ(Errno(r.err), Errno(0))
		<< where << "KVM_SEV_SNP_LAUNCH_UPDATE, firmware error " << hex(r.fw_error);
	EXPECT_EQ(r.params.len, 0u) << where << "length left";
	EXPECT_EQ(r.params.gfn_start, gfn_of(kGpa) + page + npages) << where << "next gfn";
}

// A CPUID page from the values KVM supports, with one insecure claim.
SnpCpuidTable insecure_cpuid_table()
{
	std::vector<kvm_cpuid_entry2> supported = supported_cpuid();
	SnpCpuidTable t = {};
	for (uint32_t fn : {0x0u, 0x1u, 0x80000000u}) {
		const kvm_cpuid_entry2 *e = find_cpuid(supported, fn);
		if (!e)
			throw Error("KVM_GET_SUPPORTED_CPUID has no leaf " + hex(fn));
		SnpCpuidFunction &f = t.fn[t.count++];
		f.eax_in = fn;
		f.eax = e->eax;
		f.ebx = e->ebx;
		f.ecx = e->ecx;
		f.edx = e->edx;
	}
	t.fn[1].edx |= kReservedLeaf1EdxBit;
	return t;
}

// The firmware's corrected page has the functions sent, without the reserved bit.
void check_corrected(const SnpCpuidTable &sent, const SnpCpuidTable &seen)
{
	ASSERT_EQ(seen.count, sent.count);
	for (uint32_t i = 0; i < sent.count; i++)
		EXPECT_EQ(seen.fn[i].eax_in, sent.fn[i].eax_in) << "function " << i;
	EXPECT_EQ(seen.fn[1].edx & kReservedLeaf1EdxBit, 0u) << "leaf 1 EDX reserved bit";
	for (uint32_t i = 0; i < sent.count; i++)
		if (memcmp(&seen.fn[i], &sent.fn[i], sizeof(sent.fn[i])))
			test_log("firmware corrected CPUID " + hex(sent.fn[i].eax_in) + ": eax " +
				 hex(seen.fn[i].eax) + " ebx " + hex(seen.fn[i].ebx) + " ecx " + hex(seen.fn[i].ecx) +
				 " edx " + hex(seen.fn[i].edx));
}

// Spec 3 "Populate": an insecure CPUID page is rejected, its corrections are read while
// shared (in place) or from the source buffer (legacy), and the corrected page is accepted.
KVMT_TEST_F(snp, cpuid_page_rejected_corrected_accepted)
{
	const SnpCpuidTable sent = insecure_cpuid_table();
	memcpy(f.contents(0), &sent, sizeof(sent));
	f.convert(0, 1, true);

	LaunchUpdateResult r = f.launch_update(0, 1, KVM_SEV_SNP_PAGE_TYPE_CPUID);
	EXPECT_EQ(r.fw_error, kSevRetInvalidParam) << "firmware error";
	ASSERT_EQ(Errno(r.err), Errno(EIO));

	if (f.in_place()) {
		// The firmware left the page unencrypted with its corrections:
		// convert back to shared and read them through the mapping.
		int err = f.__convert(0, 1, false);
		if (err == EOPNOTSUPP && f.keep_flags() == kContentPreserve)
			skip("to-shared PRESERVE on SNP -> EOPNOTSUPP (content-mode revision): the design flow's "
			     "'back to shared with PRESERVE' step is not offered");
		ASSERT_EQ(Errno(err), Errno(0)) << "back to shared";
	}
	// Legacy: KVM copied the corrected page back to the source buffer.
	SnpCpuidTable seen;
	memcpy(&seen, f.contents(0), sizeof(seen));
	check_corrected(sent, seen);

	if (f.in_place())
		f.convert(0, 1, true);
	check_update_ok(f.launch_update(0, 1, KVM_SEV_SNP_PAGE_TYPE_CPUID), 0, 1);
	f.expect_host_sigbus(0, 1);
}

// Spec 3 "Populate": private pages written while shared are measured (in place: the host
// can no longer read them; legacy: the source is only read).
KVMT_TEST_F(snp, normal_pages_populated)
{
	fill_pattern(f.contents(0), 0, gmem_size(), kSeed);
	f.convert(0, kPages, true);
	check_update_ok(f.launch_update(0, kPages, KVM_SEV_SNP_PAGE_TYPE_NORMAL), 0, kPages);
	f.expect_host_sigbus(0, kPages);
	if (!f.in_place())  // the source is only read
		EXPECT_EQ(find_pattern_mismatch(f.contents(0), 0, gmem_size(), kSeed), -1);
}

// Spec 3 "Populate": populated ranges must be private; a shared one is refused untouched.
KVMT_TEST_F(snp, shared_range_not_populated)
{
	fill_pattern(f.contents(0), 0, gmem_size(), kSeed);
	// A shared range is refused before the firmware is asked (KVM reports
	// guest_memfd's EINVAL as EIO).
	LaunchUpdateResult r = f.launch_update(0, 1, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
	EXPECT_TRUE(r.err == EIO || r.err == EINVAL) << "LAUNCH_UPDATE on a shared page: " << Errno(r.err);
	EXPECT_EQ(r.fw_error, kSevRetSuccess) << "firmware error";
	// Nothing happened to the page: still shared, contents intact.
	EXPECT_EQ(find_pattern_mismatch(f.contents(0), 0, page_size(), kSeed), -1);
	// Once private, the same request succeeds.
	f.convert(0, 1, true);
	check_update_ok(f.launch_update(0, 1, KVM_SEV_SNP_PAGE_TYPE_NORMAL), 0, 1);
}

// After KVM_SEV_SNP_LAUNCH_FINISH the initial memory is fixed: a further update fails.
KVMT_TEST_F(snp, populate_after_launch_finish_rejected)
{
	fill_pattern(f.contents(0), 0, gmem_size(), kSeed);
	f.convert(0, kPages, true);
	check_update_ok(f.launch_update(0, 1, KVM_SEV_SNP_PAGE_TYPE_NORMAL), 0, 1);
	// LAUNCH_FINISH encrypts every vCPU's VMSA: one vCPU in its reset state.
	std::unique_ptr<Vcpu> vcpu = f.vm().create_vcpu(0);
	kvm_sev_snp_launch_finish finish = {};
	f.encrypt_op(KVM_SEV_SNP_LAUNCH_FINISH, &finish, "KVM_SEV_SNP_LAUNCH_FINISH");
	LaunchUpdateResult r = f.launch_update(1, 1, KVM_SEV_SNP_PAGE_TYPE_NORMAL);
	EXPECT_NE(r.err, 0) << "firmware error " << hex(r.fw_error);
	test_log("LAUNCH_UPDATE after LAUNCH_FINISH: " + (r.err ? errno_name(r.err) : std::string("0")) +
		 ", firmware error " + hex(r.fw_error));
}

}  // namespace
