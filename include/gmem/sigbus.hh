// "This access must raise SIGBUS": performs one read or write and reports
// whether it faulted, without killing the process. Thread-safe: each thread
// has its own recovery point, and a SIGBUS outside a probe stays fatal.
#pragma once

#include <cstdint>
#include <string>

namespace kvmt {

enum class Access { Read, Write };
const char *access_name(Access a);

struct ProbeResult {
	bool sigbus;
	int si_code;      // BUS_ADRERR, ... when sigbus
	void *fault_addr; // si_addr when sigbus
	uint8_t value;    // what a read returned
};

ProbeResult probe(volatile uint8_t *addr, Access access, uint8_t value = 0);

// Scans [addr, addr + len) one byte per host page and returns how many pages faulted.
uint64_t count_sigbus_pages(volatile uint8_t *addr, uint64_t len, Access access);

}  // namespace kvmt
