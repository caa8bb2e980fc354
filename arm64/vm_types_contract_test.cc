// arm64 VM types (default, pKVM protected, CCA realm) against the contract.
// No arm64 enablement of content modes was ever posted, so on arm64 the
// kernel's KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS answer is what the tests trust;
// the spec's table is printed beside it as a cross-check.
#include <sys/ioctl.h>

#include "conversion_contract.hh"
#include "guest_memfd.hh"
#include "page_size.hh"
#include "profile.hh"
#include "test.hh"
#include "vcpu.hh"
#include "vm.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPrivate = KVM_MEMORY_ATTRIBUTE_PRIVATE;

struct TypeVm {
	Vm vm;
	explicit TypeVm(const VmTypeVariant &v) : vm(*v.type) {}
};

KVMT_FIXTURE(arm64_types, TypeVm, VmTypeVariant, vm_type_variants());

// A VM of each arm64 type the kernel offers creates a vCPU whose kvm_run starts empty.
KVMT_TEST_F(arm64_types, vm_and_vcpu_create)
{
	std::unique_ptr<Vcpu> vcpu = f.vm.create_vcpu(0);
	ASSERT_TRUE(vcpu->fd() >= 0);
	ASSERT_EQ(vcpu->run_state().exit_reason, (uint32_t)KVM_EXIT_UNKNOWN);
}

// Spec 2: KVM_CAP_GUEST_MEMFD_FLAGS offers no flag beyond MMAP and INIT_SHARED.
KVMT_TEST_F(arm64_types, guest_memfd_flags_are_known)
{
	require_guest_memfd(f.vm, 0);
	uint64_t offered = f.vm.guest_memfd_flags();
	ASSERT_EQ(offered & ~(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED), 0u)
		<< "offered " << gmem_flags_name(offered);
}

// The modes the spec's table says the type honours in some direction.
uint64_t table_modes(const VmTypeInfo &t)
{
	uint64_t modes = 0;
	for (Direction d : kDirections)
		for (ContentMode m : {ContentMode::Zero, ContentMode::Preserve}) {
			ContractCell c = contract_cell(t.name, d, m, LaunchPhase::BeforeFinalize,
						       AttributesFamily::ContentModes);
			if (c.offered && !c.err)
				modes |= content_mode_flags(m);
		}
	return modes;
}

AttributesFamily require_family(const VmTypeInfo &t)
{
	if (!t.private_memory)
		skip(std::string("VM type ") + t.name + " has no private memory");
	std::string evidence;
	AttributesFamily family = probe_attributes_family(t, &evidence);
	if (family == AttributesFamily::None)
		skip("per-gmem attributes not offered [" + evidence + "]");
	return family;
}

// Spec 4: to-shared with each content mode succeeds where KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS
// offers it and answers EOPNOTSUPP (error_offset = start) where it does not.
KVMT_TEST_F(arm64_types, content_modes_follow_the_kernels_answer)
{
	if (require_family(*v.type) != AttributesFamily::ContentModes)
		skip("content modes are RFC v3-v5 only; this kernel has the applied family");
	uint64_t kernel = f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS);
	test_log("KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS=" + std::to_string(kernel) +
		 ", spec table says " + std::to_string(table_modes(*v.type)) +
		 (kernel == table_modes(*v.type) ? " (agree)" : " (differ: the kernel decides)"));
	require_guest_memfd(f.vm, 0);
	GuestMemfd gmem(f.vm, 2 * page_size(), 0);  // private from creation
	// Private to shared with each mode: offered modes succeed, others EOPNOTSUPP.
	for (ContentMode m : {ContentMode::Zero, ContentMode::Preserve}) {
		uint64_t flag = content_mode_flags(m);
		AttributesResult r = gmem.set_attributes(0, page_size(), 0, flag);
		test_log(std::string("to_shared ") + mode_name(m) + ": " +
			 (r.err ? errno_name(r.err) : "0"));
		if (kernel & flag) {
			EXPECT_EQ(Errno(r.err), Errno(0)) << "to_shared " << mode_name(m);
			ASSERT_EQ(Errno(gmem.set_attributes(0, page_size(), kPrivate).err), Errno(0))
				<< "back to private after to_shared " << mode_name(m);
		} else {
			EXPECT_EQ(Errno(r.err), Errno(EOPNOTSUPP)) << "to_shared " << mode_name(m);
			EXPECT_EQ(r.error_offset, 0u) << "to_shared " << mode_name(m);
		}
	}
}

// Spec 2 "Turning per-gmem attributes on": the VM-level cap lists PRIVATE for a type with
// private memory.
KVMT_TEST_F(arm64_types, attributes_cap_reports_private)
{
	require_family(*v.type);
	// Applied family: the VM-level cap lists PRIVATE for types with private memory.
	long cap = f.vm.check_extension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES);
	ASSERT_EQ((uint64_t)cap, kPrivate);
}

// Spec 2 "Turning per-gmem attributes on": the VM-level cap is 0 for a type without private
// memory.
KVMT_TEST_F(arm64_types, default_type_reports_no_attributes)
{
	if (v.type->private_memory)
		skip(std::string("VM type ") + v.name + " has private memory");
	std::string evidence;
	if (kernel_attributes_family(&evidence) != AttributesFamily::Applied)
		skip("per-gmem attributes of the applied family not offered [" + evidence + "]");
	ASSERT_EQ(f.vm.check_extension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES), 0);
}

}  // namespace
