#include "threads.hh"

#include <string>
#include <thread>
#include <vector>

#include "test.hh"

namespace kvmt {

void run_in_threads(int n, const std::function<void(int)> &body, Where where)
{
	std::vector<std::string> errors(n);
	std::vector<std::thread> threads;
	for (int i = 0; i < n; i++)
		threads.emplace_back([&, i] {
			try {
				body(i);
			} catch (const std::exception &e) {
				errors[i] = e.what();
			} catch (const TestFailure &) {
				errors[i] = "a check failed (see above)";
			} catch (const TestSkip &s) {
				errors[i] = "skipped inside a thread: " + s.reason;
			}
		});
	for (std::thread &t : threads)
		t.join();
	bool failed = false;
	for (int i = 0; i < n; i++)
		if (!errors[i].empty()) {
			record_failure(where.file, where.line, "thread " + std::to_string(i) + ": " + errors[i]);
			failed = true;
		}
	if (failed)
		throw TestFailure{};
}

}  // namespace kvmt
