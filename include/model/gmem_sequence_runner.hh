// Runs a sequence of guest_memfd operations on the real kernel (a fresh VM,
// guest_memfd, host mapping and, where guest code can run, a vCPU) and
// compares every result with the model's prediction: data byte by byte,
// SIGBUS or not per page, errno, error_offset. The first difference ends the
// run and is reported with the operation and, for data, the page, offset,
// expected and seen bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmem_model.hh"
#include "gmem_ops.hh"
#include "vm_type.hh"

namespace kvmt {

// Test-only faults, to show that the runner catches what it must.
struct RunnerFaults {
	bool flip_byte = false;   // before the last read that expects written data, one byte of that page flips
	bool kill_child = false;  // the first forked reader is killed
	bool hang_guest = false;  // the first guest operation spins forever
};

struct SequenceFailure {
	size_t op_index = 0;
	std::string op;    // the operation's text
	std::string what;  // how the kernel's result differs from the prediction
};

struct RunnerStats {
	uint64_t ops[kOpKinds] = {};  // executed, per kind
	uint64_t skipped = 0;         // not applicable where they stood
	uint64_t errno_checked = 0;   // operations predicted to fail
	uint64_t sigbus_checked = 0;  // pages predicted to SIGBUS
	uint64_t pages_compared = 0;  // pages compared byte by byte
	ConversionCounts converted;   // conversions that succeeded, as predicted
	std::map<int, uint64_t> convert_refused;  // errno -> conversions refused, as predicted
	// Conversions for which the contract allows two errnos (Prediction::also_allowed):
	// what the kernel answered -> count.
	std::map<int, uint64_t> either_errno;
	uint64_t executed() const;
	void add(const RunnerStats &o);
};

// Where the flip_byte fault strikes: op index and page, or none.
struct FlipTarget {
	bool found = false;
	size_t op_index = 0;
	uint64_t page = 0;
};
FlipTarget find_flip_target(const GmemModelConfig &config, const std::vector<GmemOp> &ops);

class GmemSequenceRunner {
public:
	GmemSequenceRunner(const VmTypeInfo &type, const GmemModelConfig &config, RunnerFaults faults);
	std::optional<SequenceFailure> run(const std::vector<GmemOp> &ops);
	const RunnerStats &stats() const { return stats_; }

private:
	const VmTypeInfo &type_;
	GmemModelConfig config_;
	RunnerFaults faults_;
	RunnerStats stats_;
};

}  // namespace kvmt
