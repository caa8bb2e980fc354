// The clock every benchmark here reads: CLOCK_MONOTONIC minus the time the
// thread spent waiting on a run queue (run_delay of
// /proc/thread-self/schedstat). On a shared 2-CPU machine another tenant's
// build can take half of the wall time; what is left is the time the
// operation ran or slept for its own reasons, which is what a lab on an idle
// machine would see. Without schedstat (no CONFIG_SCHED_INFO) it is plain
// wall time, and describe() says so.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bench {

class Stopwatch {
public:
	void start()
	{
		delay0_ = run_delay_ns();
		t0_ = std::chrono::steady_clock::now();
	}
	// Seconds since start(), without run-queue waits; the waits it left out
	// are added to *waited when given.
	double stop(double *waited = nullptr)
	{
		auto t1 = std::chrono::steady_clock::now();
		double wait = (run_delay_ns() - delay0_) * 1e-9;
		double wall = std::chrono::duration<double>(t1 - t0_).count();
		if (wait > wall)
			wait = wall;
		if (waited)
			*waited += wait;
		return wall - wait;
	}

	static std::string describe();

private:
	// Nanoseconds this thread has waited on a run queue (0 without schedstat).
	static uint64_t run_delay_ns();

	std::chrono::steady_clock::time_point t0_;
	uint64_t delay0_ = 0;
};

}  // namespace bench
