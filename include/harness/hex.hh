// "0x1f": how the suite prints addresses, offsets, flags and byte values.
#pragma once

#include <cstdint>
#include <string>

namespace kvmt {
std::string hex(uint64_t v);
}
