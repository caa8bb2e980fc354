#include "sigbus.hh"

#include <setjmp.h>
#include <signal.h>

#include <cstring>
#include <mutex>

#include "errors.hh"
#include "page_size.hh"

namespace kvmt {
namespace {

thread_local sigjmp_buf t_recover;
thread_local volatile sig_atomic_t t_armed;
thread_local volatile int t_code;
thread_local void *volatile t_addr;

void on_sigbus(int sig, siginfo_t *info, void *)
{
	if (!t_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	t_armed = 0;
	t_code = info->si_code;
	t_addr = info->si_addr;
	siglongjmp(t_recover, 1);
}

void install_handler()
{
	static std::once_flag once;
	std::call_once(once, [] {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sys_check(sigaction(SIGBUS, &sa, nullptr), "sigaction(SIGBUS)");
	});
}

}  // namespace

const char *access_name(Access a)
{
	return a == Access::Read ? "read" : "write";
}

ProbeResult probe(volatile uint8_t *addr, Access access, uint8_t value)
{
	install_handler();
	ProbeResult r = {false, 0, nullptr, 0};
	if (sigsetjmp(t_recover, 1)) {
		r.sigbus = true;
		r.si_code = t_code;
		r.fault_addr = t_addr;
		return r;
	}
	t_armed = 1;
	if (access == Access::Read)
		r.value = *addr;
	else
		*addr = value;
	t_armed = 0;
	return r;
}

uint64_t count_sigbus_pages(volatile uint8_t *addr, uint64_t len, Access access)
{
	uint64_t n = 0;
	for (uint64_t off = 0; off < len; off += page_size())
		n += probe(addr + off, access, 0).sigbus;
	return n;
}

}  // namespace kvmt
