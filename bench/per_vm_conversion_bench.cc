// For comparison, the per-VM path of kernels 6.8+ (and of kernels running
// the series with per-gmem attributes off): KVM_SET_MEMORY_ATTRIBUTES on the
// VM fd (Vm::__set_memory_attributes) over a guest_memfd-backed memslot,
// convert_per_vm/<direction>/<size>, pages allocated. Same batching as the
// per-gmem benchmarks; x_floor uses the no-op ioctl on a VM fd.
#include "errors.hh"
#include "guest_memfd.hh"
#include "guest_vm.hh"
#include "harness.hh"
#include "mapping.hh"
#include "support.hh"
#include "timing.hh"
#include "vm.hh"

namespace bench {
namespace {

constexpr uint32_t kSlot = 1;

void set_range(kvmt::Vm &vm, uint64_t gpa, uint64_t size, uint64_t attributes)
{
	if (int err = vm.__set_memory_attributes(gpa, size, attributes))
		throw kvmt::Error("KVM_SET_MEMORY_ATTRIBUTES(gpa " + std::to_string(gpa) + ", size " +
				  std::to_string(size) + "): " + kvmt::errno_name(err));
}

void per_vm_conversion(benchmark::State &state, Direction d, const BenchSize &size)
{
	uint64_t batch = batch_ops(size.bytes), len = batch * size.bytes;
	kvmt::Vm vm(private_vm_type());
	kvmt::GuestMemfd gmem(vm, len, 0);
	kvmt::Mapping shared = kvmt::Mapping::anonymous(len);
	vm.set_memslot({kSlot, 0, kvmt::kTestGpaBase, len, shared.data(), gmem.fd(), 0});
	gmem.allocate(0, len);
	BatchTotals t = run_batched(
		state, batch,
		[&](uint64_t) { set_range(vm, kvmt::kTestGpaBase, len, target_attributes(opposite(d))); },
		[&](uint64_t i) {
			set_range(vm, kvmt::kTestGpaBase + i * size.bytes, size.bytes, target_attributes(d));
		});
	report_conversion(state, t, size.bytes, FloorFd::Vm, Mode::Unspecified, 0);
}

}  // namespace

void register_per_vm_conversion_benchmarks()
{
	for (Direction d : kvmt::kDirections)
		for (const BenchSize &size : all_sizes()) {
			std::string skip = support().per_vm_missing;
			if (skip.empty())
				skip = batch_bound_reason(size.bytes);
			add_benchmark(bench_name({"convert_per_vm", direction_name(d), size.name}), skip,
				      [d, &size](benchmark::State &state) { per_vm_conversion(state, d, size); });
		}
}

}  // namespace bench
