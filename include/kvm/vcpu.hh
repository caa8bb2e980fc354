// A vCPU: its fd, the shared kvm_run page and KVM_RUN.
#pragma once

#include <cstdint>
#include <string>

#include "fd.hh"
#include "kvm_uapi.hh"
#include "mapping.hh"

namespace kvmt {

class Vm;

class Vcpu {
public:
	Vcpu(Vm &vm, int id);

	int id() const { return id_; }
	int fd() const { return fd_.get(); }
	Vm &vm() const { return *vm_; }
	kvm_run &run_state() const { return *reinterpret_cast<kvm_run *>(run_.data()); }

	// One KVM_RUN: 0 or the errno (EINTR is retried).
	int __run();
	// "KVM_EXIT_IO", "KVM_EXIT_MEMORY_FAULT", ... for the last exit.
	std::string exit_reason_name() const;

private:
	Vm *vm_;
	int id_;
	UniqueFd fd_;
	Mapping run_;
};

std::string exit_reason_name(uint32_t reason);

}  // namespace kvmt
