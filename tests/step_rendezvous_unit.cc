// The step rendezvous between a test and its forked child: turns in order,
// and a side that is gone or late is an error naming the step, never a hang.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "errors.hh"
#include "fd.hh"
#include "step_rendezvous.hh"
#include "test.hh"

using namespace kvmt;
using std::chrono::milliseconds;

namespace {

std::string await_error(StepRendezvous &steps, int step, pid_t child)
{
	try {
		steps.await_child(step, "the child's turn", child);
	} catch (const Error &e) {
		return e.what();
	}
	return "no error";
}

bool contains(const std::string &text, const std::string &part)
{
	return text.find(part) != std::string::npos;
}

int reap(pid_t pid)
{
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

long elapsed_ms(std::chrono::steady_clock::time_point since)
{
	auto d = std::chrono::steady_clock::now() - since;
	return std::chrono::duration_cast<milliseconds>(d).count();
}

}  // namespace

// Steps alternate: the child answers each of the parent's steps with the next.
KVMT_TEST(step_rendezvous, sides_take_turns)
{
	StepRendezvous steps;
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		try {
			for (int step = 1; step < 6; step += 2) {
				steps.await_parent(step, "the parent's turn");
				steps.set(step + 1);
			}
		} catch (const Error &) {
			_exit(1);
		}
		_exit(0);
	}
	for (int step = 1; step < 6; step += 2) {
		steps.set(step);
		steps.await_child(step + 1, "the child's turn", child);
		EXPECT_GE(steps.step(), step + 1);
	}
	EXPECT_EQ(wait_status_text(reap(child)), std::string("exit status 0"));
}

// A child that exits without taking its turn is reported at the next tick,
// with its exit status, and stays unreaped for its owner.
KVMT_TEST(step_rendezvous, child_exited_early_is_an_error)
{
	StepRendezvous steps(milliseconds(20000));
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(3);
	auto start = std::chrono::steady_clock::now();
	std::string error = await_error(steps, 1, child);
	EXPECT_LT(elapsed_ms(start), 5000L) << "the deadline is 20 s: the exit must be seen first";
	EXPECT_TRUE(contains(error, "awaiting step 1 (the child's turn), still at step 0")) << error;
	EXPECT_TRUE(contains(error, "exited early (exit status 3)")) << error;
	EXPECT_EQ(wait_status_text(reap(child)), std::string("exit status 3"));
}

// A child that lives but never takes its turn: the deadline ends the wait.
KVMT_TEST(step_rendezvous, deadline_is_an_error)
{
	StepRendezvous steps(milliseconds(300));
	int hold[2];
	ASSERT_EQ(pipe(hold), 0);
	UniqueFd hold_read(hold[0]), hold_write(hold[1]);
	pid_t child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		char byte;
		hold_write.reset();
		_exit(read(hold_read.get(), &byte, 1) == 0 ? 0 : 1);  // until the parent lets go
	}
	std::string error = await_error(steps, 2, child);
	EXPECT_TRUE(contains(error, "awaiting step 2 (the child's turn), still at step 0")) << error;
	EXPECT_TRUE(contains(error, "not reached within 300 ms")) << error;
	hold_write.reset();
	EXPECT_EQ(wait_status_text(reap(child)), std::string("exit status 0"));
}

// The child's wait ends when the process that made the rendezvous is gone.
KVMT_TEST(step_rendezvous, parent_gone_is_an_error)
{
	int report[2];
	ASSERT_EQ(pipe(report), 0);
	UniqueFd report_read(report[0]), report_write(report[1]);
	pid_t middle = fork();
	ASSERT_GE(middle, 0);
	if (middle == 0) {
		StepRendezvous steps(milliseconds(10000));
		if (fork() == 0) {
			std::string error = "no error";
			try {
				steps.await_parent(1, "the parent's turn");
			} catch (const Error &e) {
				error = e.what();
			}
			_exit(write(report_write.get(), error.data(), error.size()) > 0 ? 0 : 1);
		}
		_exit(0);
	}
	EXPECT_EQ(wait_status_text(reap(middle)), std::string("exit status 0"));
	report_write.reset();
	auto start = std::chrono::steady_clock::now();
	char buf[256] = {};
	ASSERT_GT(read(report_read.get(), buf, sizeof(buf) - 1), 0);
	EXPECT_LT(elapsed_ms(start), 5000L) << "the deadline is 10 s: the parent's end must be seen first";
	std::string error = buf;
	EXPECT_TRUE(contains(error, "awaiting step 1 (the parent's turn)")) << error;
	EXPECT_TRUE(contains(error, "is gone")) << error;
}
