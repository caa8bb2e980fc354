// Random operation sequences for the model-checked guest_memfd test: only
// operations the running kernel offers (op_offered), mostly valid ones with
// a share of bad inputs (unaligned, empty, past the end of the file), guest
// ranges chosen where the guest may go, every write with a seed unique in
// its sequence. Every sequence ends by reading every mapped page.
#pragma once

#include <cstdint>
#include <vector>

#include "gmem_model.hh"
#include "gmem_ops.hh"

namespace kvmt {

std::vector<GmemOp> generate_ops(const GmemModelConfig &config, uint64_t seed, size_t count);

}  // namespace kvmt
