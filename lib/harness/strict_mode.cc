#include "strict_mode.hh"

#include <cstdlib>
#include <cstring>

namespace kvmt {

bool strict_mode()
{
	const char *v = getenv("GMEM_STRICT");
	return v && *v && strcmp(v, "0") != 0;
}

}  // namespace kvmt
