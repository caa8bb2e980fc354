// What each architecture provides to run guest code: stage-1 page tables
// (guest virtual -> guest physical), vCPU setup at the guest's entry point,
// and recognition of the ucall exit. x86/lib/processor.cc and
// arm64/lib/processor.cc implement it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kvmt {

class Vcpu;
class Vm;

constexpr uint64_t kGuestPageSize = 4096;

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
	// Maps one 4 KiB page readable, writable and executable.
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

}  // namespace arch
}  // namespace kvmt
