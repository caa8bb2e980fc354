// x86 ucall transport: an OUT to this port with the Ucall's address in RDI.
#pragma once

#include <stdint.h>

namespace kvmt {
constexpr uint16_t kUcallPort = 0x1000;
}
