#include "hex.hh"

#include <cstdio>

namespace kvmt {

std::string hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return buf;
}

}  // namespace kvmt
