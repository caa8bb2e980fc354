#include "sizes.hh"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace bench {

constexpr uint64_t kBatchBytes = 256 * KiB;
constexpr uint64_t kMaxBatchOps = 64;

const std::vector<BenchSize> &all_sizes()
{
	static const std::vector<BenchSize> sizes = {
		{4 * KiB, "4k"}, {64 * KiB, "64k"}, {2 * MiB, "2m"}, {64 * MiB, "64m"}, {1 * GiB, "1g"},
	};
	return sizes;
}

const std::vector<BenchSize> &touch_sizes()
{
	static const std::vector<BenchSize> sizes(all_sizes().begin(), all_sizes().end() - 1);
	return sizes;
}

const std::vector<BenchSize> &guest_sizes()
{
	static const std::vector<BenchSize> sizes(all_sizes().begin(), all_sizes().begin() + 3);
	return sizes;
}

uint64_t batch_ops(uint64_t bytes)
{
	return std::clamp<uint64_t>(kBatchBytes / bytes, 1, kMaxBatchOps);
}

uint64_t mem_available()
{
	std::ifstream in("/proc/meminfo");
	std::string key;
	uint64_t kib;
	std::string unit;
	while (in >> key >> kib) {
		std::getline(in, unit);
		if (key == "MemAvailable:")
			return kib * KiB;
	}
	return 0;
}

std::string memory_bound_reason(uint64_t footprint)
{
	uint64_t avail = mem_available();
	if (footprint <= avail / 2)
		return "";
	std::ostringstream os;
	os << "needs " << footprint / MiB << " MiB, more than half of MemAvailable ("
	   << avail / MiB << " MiB)";
	return os.str();
}

std::string batch_bound_reason(uint64_t bytes)
{
	return memory_bound_reason(batch_ops(bytes) * bytes);
}

}  // namespace bench
