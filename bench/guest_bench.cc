// The guest side: first touch of guest_memfd-backed memory through a memslot
// (userspace_addr = the gmem's own mapping, the in-place setup), and the
// KVM_RUN round trip that every guest-driven operation pays at least once.
// On this project's machines a CPL0 guest runs in KVM's instruction
// emulator, so both measure the emulator path there; on hardware with
// VMX/SVM they measure the real exits and nested-page faults.
#include "guest_bench.hh"

#include "errors.hh"
#include "guest_access.hh"
#include "guest_memfd.hh"
#include "guest_vm.hh"
#include "harness.hh"
#include "processor.hh"
#include "support.hh"
#include "timing.hh"

namespace bench {
namespace {

constexpr uint32_t kGmemSlot = 1;

// One KVM_RUN that must end in a ucall exit (checked cheaply: it is timed).
void run_to_ucall_exit(kvmt::Vcpu &vcpu)
{
	int err = vcpu.__run();
	uint32_t reason = vcpu.run_state().exit_reason;
	if (err || (reason != KVM_EXIT_IO && reason != KVM_EXIT_MMIO))
		throw kvmt::Error("KVM_RUN: " + (err ? kvmt::errno_name(err) : std::string("0")) +
				  ", " + vcpu.exit_reason_name() + ", expected a ucall exit");
}

// Untimed, after the loop: the last exit was the guest's GUEST_SYNC.
void expect_guest_sync(kvmt::GuestVm &tvm, kvmt::Vcpu &vcpu)
{
	std::optional<uint64_t> gva = kvmt::arch::ucall_exit(vcpu);
	if (!gva)
		throw kvmt::Error("unexpected " + vcpu.exit_reason_name() + ": " +
				  kvmt::arch::describe_exit(vcpu));
	const auto *uc = static_cast<const kvmt::Ucall *>(tvm.gva_to_hva(*gva));
	if (!uc || uc->cmd != kvmt::UCALL_SYNC)
		throw kvmt::Error("guest did not stop at GUEST_SYNC");
}

void guest_first_touch(benchmark::State &state, const BenchSize &size)
{
	uint64_t batch = batch_ops(size.bytes);
	uint64_t len = batch * size.bytes;
	kvmt::GuestVm tvm(kvmt::default_vm_type());
	kvmt::GuestMemfd gmem(tvm.vm(), len, kInPlaceFlags);
	kvmt::Mapping map = gmem.map();
	tvm.add_gmem_slot(kGmemSlot, kvmt::kTestGpaBase, len, gmem.fd(), 0, map.data());
	tvm.guest_global(guest_touch_plan) = {kvmt::kTestGpaBase, size.bytes, batch};
	kvmt::Vcpu &vcpu = tvm.add_vcpu(guest_touch_chunks);
	BatchTotals t = run_batched(
		state, batch, [&](uint64_t) { gmem.punch_hole(0, len); },
		[&](uint64_t) { run_to_ucall_exit(vcpu); });
	expect_guest_sync(tvm, vcpu);
	report_per_page(state, t, size.bytes);
}

void kvm_run_roundtrip(benchmark::State &state)
{
	kvmt::GuestVm tvm(kvmt::default_vm_type());
	// Plan 0 left empty: the guest only does GUEST_SYNC(0), round after round.
	tvm.guest_global(kvmt::guest_access_plans)[0] = kvmt::GuestAccessPlan{};
	kvmt::Vcpu &vcpu = tvm.add_vcpu(kvmt::guest_access_rounds, 0);
	BatchTotals t = run_unbatched(state, [&](uint64_t) { run_to_ucall_exit(vcpu); });
	expect_guest_sync(tvm, vcpu);
	report_waits(state, t);
}

}  // namespace

void register_guest_benchmarks()
{
	for (const BenchSize &size : guest_sizes())
		add_benchmark(bench_name({"peer", "guest_first_touch", "gmem", size.name}),
			      support().inplace_missing,
			      [&size](benchmark::State &state) { guest_first_touch(state, size); });
	add_benchmark("peer/kvm_run_roundtrip", support().kvm_missing, kvm_run_roundtrip);
}

}  // namespace bench
