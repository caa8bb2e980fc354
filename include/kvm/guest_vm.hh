// A VM that runs guest code of this binary: the program's segments, stacks
// and page tables live in a system memslot; tests add their own memslots
// (typically guest_memfd-backed) and identity-map them (GVA = GPA).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mapping.hh"
#include "processor.hh"
#include "ucall.hh"
#include "vcpu.hh"
#include "vm.hh"

namespace kvmt {

// Test memory starts here; lower guest-physical addresses belong to the system slot.
constexpr uint64_t kTestGpaBase = 0x40000000ULL;
constexpr uint32_t kSystemSlot = 0;

class GuestVm {
public:
	// Skips when the type is not offered, or needs a CoCo launch flow to run code.
	explicit GuestVm(const VmTypeInfo &type);
	~GuestVm();

	Vm &vm() { return vm_; }
	// A vCPU that starts in fn(arg0, arg1).
	Vcpu &add_vcpu(GuestFn fn, uint64_t arg0 = 0, uint64_t arg1 = 0);
	Vcpu &vcpu(size_t i) { return *vcpus_.at(i); }

	// Zeroed memory of the system slot at GVA = GPA (returned), for buffers
	// the host fills (gva_to_hva) and guest code reads.
	uint64_t alloc_system_memory(uint64_t size);
	// Maps [gpa, gpa + size) at guest virtual address gpa.
	void map_identity(uint64_t gpa, uint64_t size);
	// A plain memslot backed by host memory at hva, identity-mapped.
	void add_memory_slot(uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
	// A guest_memfd-backed memslot with userspace_addr = hva (the in-place
	// setup when hva is the gmem's own mapping), identity-mapped.
	void add_gmem_slot(uint32_t slot, uint64_t gpa, uint64_t size, int gmem_fd,
			   uint64_t gmem_offset, void *hva);

	// One KVM_RUN. A ucall is decoded (a guest assertion fails the test);
	// any other exit is left in vcpu.run_state() for the caller.
	struct Step {
		int err;       // KVM_RUN's errno (0 on success)
		bool is_ucall;
		Ucall ucall;
	};
	Step step(Vcpu &vcpu);
	// Runs until the next ucall. A guest assertion fails the test with the
	// guest's file, line and values; any other exit throws Error naming it.
	Ucall run(Vcpu &vcpu);
	// Runs until GUEST_DONE, failing on anything else (a SYNC included).
	void run_to_done(Vcpu &vcpu);
	// Runs until GUEST_SYNC(stage), failing on anything else.
	Ucall run_to_sync(Vcpu &vcpu, uint64_t stage);

	// The guest's copy of a global of this program.
	template <typename T>
	T &guest_global(T &host_object)
	{
		return *static_cast<T *>(gva_to_hva(reinterpret_cast<uint64_t>(&host_object)));
	}
	void *gva_to_hva(uint64_t gva);

private:
	class SystemMemory;
	Vm vm_;
	std::unique_ptr<SystemMemory> system_;
	std::unique_ptr<PageTables> tables_;
	std::vector<std::unique_ptr<Vcpu>> vcpus_;
};

// Skips unless guest code runs natively: KVM's instruction emulator reads
// guest memory through the memslot's userspace_addr, not as a guest fault
// would, so `what` (a guest-fault behaviour) cannot be seen there.
void require_native_guest_code(const std::string &what);

// "guest assertion 'a == b' failed (values 0x1, 0x2)" for an UCALL_ABORT.
std::string format_guest_failure(const Ucall &uc, const char *text);

}  // namespace kvmt
