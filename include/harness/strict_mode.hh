// --strict / GMEM_STRICT=1: a regression gate on a known-good machine wants
// every skip to count as a failure.
#pragma once

namespace kvmt {
bool strict_mode();
}
