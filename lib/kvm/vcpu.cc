#include "vcpu.hh"

#include <sys/ioctl.h>

#include <cerrno>

#include "errors.hh"
#include "kvm_system.hh"
#include "vm.hh"

namespace kvmt {

Vcpu::Vcpu(Vm &vm, int id) : vm_(&vm), id_(id)
{
	fd_.reset(sys_check(ioctl(vm.fd(), KVM_CREATE_VCPU, id), "KVM_CREATE_VCPU"));
	size_t size = KvmSystem::get().vcpu_mmap_size();
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd(), 0);
	if (p == MAP_FAILED)
		sys_check(-1, "mmap(vcpu fd)");
	run_ = Mapping(p, size);
}

int Vcpu::__run()
{
	int r;
	do {
		r = ioctl(fd(), KVM_RUN, 0);
	} while (r < 0 && errno == EINTR);
	return r ? errno : 0;
}

std::string exit_reason_name(uint32_t reason)
{
	switch (reason) {
#define NAME(x) \
	case x: \
		return #x
		NAME(KVM_EXIT_UNKNOWN);
		NAME(KVM_EXIT_EXCEPTION);
		NAME(KVM_EXIT_IO);
		NAME(KVM_EXIT_HYPERCALL);
		NAME(KVM_EXIT_DEBUG);
		NAME(KVM_EXIT_HLT);
		NAME(KVM_EXIT_MMIO);
		NAME(KVM_EXIT_SHUTDOWN);
		NAME(KVM_EXIT_FAIL_ENTRY);
		NAME(KVM_EXIT_INTR);
		NAME(KVM_EXIT_INTERNAL_ERROR);
		NAME(KVM_EXIT_SYSTEM_EVENT);
		NAME(KVM_EXIT_MEMORY_FAULT);
#undef NAME
	}
	return "exit reason " + std::to_string(reason);
}

std::string Vcpu::exit_reason_name() const
{
	return kvmt::exit_reason_name(run_state().exit_reason);
}

}  // namespace kvmt
