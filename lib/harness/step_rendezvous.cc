#include "step_rendezvous.hh"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "errors.hh"

namespace kvmt {

struct StepRendezvous::Shared {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	int step;
	pid_t creator;
};

namespace {

void pthread_check(int err, const char *what)
{
	if (err)
		throw Error(std::string("step rendezvous: ") + what + ": " + errno_name(err));
}

// The mutex is robust: when the other side died holding it (killed inside
// set()), this side takes it over; the step it guards is one int, so the
// state is consistent whatever that side was doing.
int take_over_if_owner_died(int err, pthread_mutex_t *mutex)
{
	return err == EOWNERDEAD ? pthread_mutex_consistent(mutex) : err;
}

class Locked {
public:
	explicit Locked(pthread_mutex_t *mutex) : mutex_(mutex)
	{
		pthread_check(take_over_if_owner_died(pthread_mutex_lock(mutex), mutex), "lock");
	}
	~Locked() { pthread_mutex_unlock(mutex_); }
	Locked(const Locked &) = delete;
	Locked &operator=(const Locked &) = delete;

private:
	pthread_mutex_t *mutex_;
};

void init_shared(pthread_mutex_t *mutex, pthread_cond_t *cond)
{
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	int err = pthread_mutex_init(mutex, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_check(err, "pthread_mutex_init");

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	err = pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
	if (err)
		pthread_mutex_destroy(mutex);
	pthread_check(err, "pthread_cond_init");
}

timespec monotonic_now()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

timespec after(timespec t, std::chrono::milliseconds d)
{
	long long ns = t.tv_nsec + d.count() * 1000000LL;
	t.tv_sec += ns / 1000000000LL;
	t.tv_nsec = ns % 1000000000LL;
	return t;
}

bool earlier(const timespec &a, const timespec &b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// Why child is gone, or "" while it runs. WNOWAIT leaves an exited child
// unreaped: its exit status stays for whoever owns it.
std::string child_gone(pid_t child)
{
	siginfo_t info = {};
	if (waitid(P_PID, child, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return "child " + std::to_string(child) + " cannot be waited for: " + errno_name(errno);
	if (info.si_pid != child)
		return "";
	int status = info.si_code == CLD_EXITED ? info.si_status << 8 : info.si_status;
	return "child " + std::to_string(child) + " exited early (" + wait_status_text(status) + ")";
}

}  // namespace

StepRendezvous::StepRendezvous(std::chrono::milliseconds deadline) : deadline_(deadline)
{
	void *p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		throw Error("step rendezvous: mmap: " + errno_name(errno));
	shared_ = new (p) Shared{};
	shared_->creator = getpid();
	try {
		init_shared(&shared_->mutex, &shared_->cond);
	} catch (...) {
		munmap(p, sizeof(Shared));
		throw;
	}
}

StepRendezvous::~StepRendezvous()
{
	if (getpid() == shared_->creator) {
		pthread_cond_destroy(&shared_->cond);
		pthread_mutex_destroy(&shared_->mutex);
	}
	munmap(shared_, sizeof(Shared));
}

void StepRendezvous::set(int step)
{
	Locked locked(&shared_->mutex);
	shared_->step = step;
	pthread_cond_broadcast(&shared_->cond);
}

int StepRendezvous::step() const
{
	Locked locked(&shared_->mutex);
	return shared_->step;
}

void StepRendezvous::await_child(int step, const std::string &what, pid_t child)
{
	await(step, what, [child] { return child_gone(child); });
}

void StepRendezvous::await_parent(int step, const std::string &what)
{
	pid_t parent = shared_->creator;
	await(step, what, [parent] {
		return getppid() == parent ? std::string()
					   : "the parent " + std::to_string(parent) + " is gone";
	});
}

void StepRendezvous::await(int step, const std::string &what,
			   const std::function<std::string()> &gone)
{
	timespec deadline = after(monotonic_now(), deadline_);
	Locked locked(&shared_->mutex);
	while (shared_->step < step) {
		timespec tick = after(monotonic_now(), kTick);
		if (earlier(deadline, tick))
			tick = deadline;
		int err = pthread_cond_timedwait(&shared_->cond, &shared_->mutex, &tick);
		err = take_over_if_owner_died(err, &shared_->mutex);
		if (err && err != ETIMEDOUT)
			pthread_check(err, "pthread_cond_timedwait");
		if (shared_->step >= step)
			return;
		std::string where = "step rendezvous: awaiting step " + std::to_string(step) + " (" +
				    what + "), still at step " + std::to_string(shared_->step) + ": ";
		std::string why = gone();
		if (!why.empty())
			throw Error(where + why);
		if (!earlier(monotonic_now(), deadline))
			throw Error(where + "not reached within " + std::to_string(deadline_.count()) +
				    " ms");
	}
}

}  // namespace kvmt
