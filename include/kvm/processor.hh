// What each architecture provides to run guest code: stage-1 page tables
// (guest virtual -> guest physical), vCPU setup at the guest's entry point,
// and recognition of the ucall exit. lib/x86/processor.cc and
// lib/arm64/processor.cc implement it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kvmt {

class Vcpu;
class Vm;

// The granule of the guest's own page tables (x86: 4 KiB pages; arm64: the
// 4 KiB granule these tables use), also for guest stacks and code. Not the
// host's page size, which guest_memfd and memslots work in (page_size.hh).
constexpr uint64_t kGuestPageSize = 4096;

// The host's page size as guest code sees it (guest code cannot call
// sysconf): the step of guest code that walks guest_memfd pages. GuestVm sets
// the guest's copy.
extern uint64_t host_page_size_for_guest;

// Where page-table pages come from: zeroed guest-physical pages and their
// host addresses.
class PageAllocator {
public:
	virtual ~PageAllocator() = default;
	virtual uint64_t alloc_page() = 0;
	virtual void *page_hva(uint64_t gpa) = 0;
};

class PageTables {
public:
	explicit PageTables(PageAllocator &alloc);
	uint64_t root() const { return root_; }
	// Maps one guest page (kGuestPageSize) readable, writable and executable.
	void map(uint64_t gva, uint64_t gpa);
	// Walks the tables as the MMU would.
	std::optional<uint64_t> translate(uint64_t gva) const;

private:
	PageAllocator &alloc_;
	uint64_t root_;
};

namespace arch {

// Guest-physical range [base, base + size) that must stay without memslot
// (arm64: the MMIO ucall page); size 0 when none.
struct ReservedRange {
	uint64_t base, size;
};
ReservedRange reserved_gpa_range();
// Once per VM, after the tables exist (arm64 maps the ucall MMIO page).
void setup_vm(Vm &vm, PageTables &tables);
// Puts the vCPU at entry(arg0, arg1, arg2) with the given stack and tables.
void setup_vcpu(Vcpu &vcpu, const PageTables &tables, uint64_t entry, uint64_t stack_top,
		uint64_t arg0, uint64_t arg1, uint64_t arg2);
// The Ucall's guest virtual address when the last exit is a ucall.
std::optional<uint64_t> ucall_exit(Vcpu &vcpu);
// Architecture detail of an unexpected exit (e.g. suberror and RIP).
std::string describe_exit(Vcpu &vcpu);
// Why guest code runs in KVM's instruction emulator here instead of natively
// (x86: "no VMX/SVM ..."); empty where it runs natively.
std::string guest_code_emulated_reason();

}  // namespace arch
}  // namespace kvmt
