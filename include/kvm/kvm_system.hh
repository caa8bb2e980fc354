// /dev/kvm: the system fd, capability queries and the sizes KVM reports.
#pragma once

#include <string>

#include "fd.hh"

namespace kvmt {

constexpr const char *kKvmDevice = "/dev/kvm";

// Opens /dev/kvm; on failure returns -1 and explains in *why.
int open_kvm(std::string *why);

class KvmSystem {
public:
	// The process-wide system fd; throws TestSkip when /dev/kvm is unusable.
	static KvmSystem &get();

	int fd() const { return fd_.get(); }
	// KVM_CHECK_EXTENSION on the system fd (0 when absent).
	long check_extension(long cap) const;
	long vcpu_mmap_size() const;

private:
	explicit KvmSystem(int fd) : fd_(fd) {}
	UniqueFd fd_;
};

}  // namespace kvmt
