// The running program's loadable segments. Guest code is ordinary code of the
// same binary: these segments are copied into guest memory and mapped at the
// same virtual addresses, so a function pointer or a string literal means the
// same thing in the guest and on the host.
#pragma once

#include <cstdint>
#include <vector>

namespace kvmt {

struct ImageSegment {
	uint64_t vaddr;  // page-aligned start, as loaded in this process
	uint64_t size;   // page-aligned length
};

const std::vector<ImageSegment> &program_segments();
// Whether [addr, addr + len) lies inside the program's segments.
bool in_program_image(const void *addr, uint64_t len);

}  // namespace kvmt
