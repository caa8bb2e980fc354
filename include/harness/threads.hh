// Running a test's work on several threads (typically one per vCPU).
#pragma once

#include <functional>

#include "test.hh"

namespace kvmt {

// Runs body(i) for every i < n on its own thread and waits for all. Each
// thread whose body threw is reported as a failure at the caller's line
// ("thread i: <what>"), and then the test ends as failed.
void run_in_threads(int n, const std::function<void(int)> &body, Where where = Where::here());

}  // namespace kvmt
