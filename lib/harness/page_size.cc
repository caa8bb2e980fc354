#include "page_size.hh"

#include <unistd.h>

namespace kvmt {

uint64_t page_size()
{
	static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
	return size;
}

}  // namespace kvmt
