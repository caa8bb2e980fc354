// The limits a conversion is compared with, as measured in this run: the
// syscall floor (a no-op ioctl on a guest_memfd or VM fd) and memset
// bandwidth (what ZERO must at least cost). The limit benchmarks note each
// repetition here; a conversion benchmark reads the median so far, or, when
// a filter left the limits out, a short measurement of its own.
#pragma once

#include <cstdint>

#include "kvm_uapi.hh"
#include "mapping.hh"

namespace bench {

// An ioctl number no KVM file implements: the kernel answers ENOTTY.
constexpr unsigned long kNoopIoctl = _IO(KVMIO, 0xff);

enum class FloorFd { Gmem, Vm };

// Resident memory for memset: transparent huge pages where the kernel gives
// them, because the kernel zeroes a page through its direct map, which huge
// mappings cover; 4 KiB user mappings would add TLB misses it does not pay.
kvmt::Mapping memset_buffer(uint64_t bytes);

void note_floor_ns(FloorFd which, double ns);
void note_memset_ns(uint64_t bytes, double ns);
// 0 when it cannot be measured (no KVM).
double floor_ns(FloorFd which);
double memset_ns(uint64_t bytes);

// One no-op ioctl. Not inlined: the bare loop below and the harness loop of
// the no-op ioctl benchmarks call the very same code, so comparing them
// measures the loops (this program's overhead), not two layouts of a syscall.
[[gnu::noinline]] void noop_ioctl_once(int fd, unsigned long cmd, unsigned long arg);
// n no-op ioctls in a plain loop, timed by one Stopwatch.
double bare_noop_ioctl_ns(int fd, unsigned long cmd, unsigned long arg, uint64_t n);

}  // namespace bench
