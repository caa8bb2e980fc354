// Two processes, a test and the child it forks, taking turns: one announces
// the step it has reached, the other waits for it. The state (a robust
// process-shared mutex, a condition on CLOCK_MONOTONIC, the step number)
// lives in a MAP_SHARED anonymous mapping made before fork(), so both sides
// see it. A wait never hangs: it wakes every 100 ms to check that the other
// side is alive, and gives up after a deadline; either way it throws an Error
// that names the step it awaited.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

namespace kvmt {

class StepRendezvous {
public:
	static constexpr std::chrono::milliseconds kTick{100};
	static constexpr std::chrono::milliseconds kDefaultDeadline{5000};

	// Maps a rendezvous at step 0; make it before fork().
	explicit StepRendezvous(std::chrono::milliseconds deadline = kDefaultDeadline);
	// Unmaps it (the process that made it also destroys the mutex and condition).
	~StepRendezvous();
	StepRendezvous(const StepRendezvous &) = delete;
	StepRendezvous &operator=(const StepRendezvous &) = delete;

	// Announces step and wakes the other side.
	void set(int step);
	int step() const;

	// The parent's wait for step (named what in errors), the child being child:
	// throws when the child has exited (leaving it unreaped, for the caller)
	// or the deadline passes.
	void await_child(int step, const std::string &what, pid_t child);
	// The child's wait: throws when the process that made the rendezvous is
	// no longer its parent, or the deadline passes.
	void await_parent(int step, const std::string &what);

private:
	struct Shared;
	// gone() says why the other side is gone, or "" while it is alive.
	void await(int step, const std::string &what, const std::function<std::string()> &gone);

	Shared *shared_;
	std::chrono::milliseconds deadline_;
};

}  // namespace kvmt
