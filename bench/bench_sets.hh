// Each *_bench.cc registers one set of benchmarks; main() calls them in this
// order, limits first, so that the conversion benchmarks' ratios use the
// limits measured earlier in the same run.
#pragma once

namespace bench {

void register_limit_benchmarks();
void register_fault_benchmarks();
void register_punch_benchmarks();
void register_guest_benchmarks();
void register_conversion_benchmarks();
void register_noop_conversion_benchmarks();
void register_refused_conversion_benchmarks();
void register_per_vm_conversion_benchmarks();

}  // namespace bench
