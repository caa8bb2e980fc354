// /proc/cpuinfo's "flags" lines: whether the CPU offers hardware
// virtualisation (VMX or SVM) to the kernel this program runs on.
#pragma once

#include <sstream>
#include <string>

namespace kvmt {
namespace x86 {

// True when a "flags" line of cpuinfo text lists vmx or svm.
inline bool cpuinfo_has_vmx_or_svm(const std::string &cpuinfo)
{
	std::istringstream lines(cpuinfo);
	std::string line;
	while (std::getline(lines, line)) {
		size_t colon = line.find(':');
		if (colon == std::string::npos)
			continue;
		std::istringstream key(line.substr(0, colon));
		std::string word, extra;
		// Only "flags" itself: "vmx flags" lists VMX features, not the CPU's.
		if (!(key >> word) || word != "flags" || (key >> extra))
			continue;
		std::istringstream flags(line.substr(colon + 1));
		while (flags >> word)
			if (word == "vmx" || word == "svm")
				return true;
	}
	return false;
}

}  // namespace x86
}  // namespace kvmt
