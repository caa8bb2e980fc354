#include "mapping.hh"

#include "errors.hh"

namespace kvmt {

Mapping Mapping::anonymous(size_t len, int flags)
{
	void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		sys_check(-1, "mmap(anonymous, " + std::to_string(len) + ")");
	return Mapping(p, len);
}

}  // namespace kvmt
