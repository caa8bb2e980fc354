#include "errors.hh"

#include <sys/wait.h>

#include <cerrno>
#include <cstring>

namespace kvmt {

std::string errno_name(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "errno " + std::to_string(err);
}

std::string result_text(long ret, int err)
{
	if (ret != -1)
		return std::to_string(ret);
	return "-1 (" + errno_name(err) + ": " + strerror(err) + ")";
}

std::ostream &operator<<(std::ostream &os, const Errno &e)
{
	return os << (e.value ? errno_name(e.value) : "0 (no error)");
}

std::string wait_status_text(int status)
{
	if (WIFSIGNALED(status))
		return "killed by signal " + std::to_string(WTERMSIG(status));
	return "exit status " + std::to_string(WEXITSTATUS(status));
}

long sys_check(long ret, const std::string &what)
{
	if (ret == -1)
		throw Error(what + ": " + errno_name(errno));
	return ret;
}

}  // namespace kvmt
