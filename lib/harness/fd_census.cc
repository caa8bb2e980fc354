#include "fd_census.hh"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

namespace kvmt {

FdSet open_fds()
{
	FdSet fds;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return fds;
	int self = dirfd(d);
	while (dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == self)
			continue;
		char target[256];
		ssize_t n = readlinkat(self, e->d_name, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = 0;
		fds[fd] = target;
	}
	closedir(d);
	return fds;
}

static std::set<std::string> &lasting_targets()
{
	static std::set<std::string> targets;
	return targets;
}

bool allow_lasting_fd(const std::string &target)
{
	lasting_targets().insert(target);
	return true;
}

std::string new_fds(const FdSet &before, const FdSet &after)
{
	std::string s;
	for (const auto &[fd, target] : after) {
		auto it = before.find(fd);
		if ((it != before.end() && it->second == target) || lasting_targets().count(target))
			continue;
		s += (s.empty() ? "" : ", ") + ("fd " + std::to_string(fd) + " -> " + target);
	}
	return s;
}

}  // namespace kvmt
