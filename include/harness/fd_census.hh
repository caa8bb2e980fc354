// The process's open file descriptors, to check that a test closed every fd
// it opened (VMs, vCPUs, guest_memfds, pipes, sockets).
#pragma once

#include <map>
#include <string>

namespace kvmt {

using FdSet = std::map<int, std::string>;  // fd -> what it refers to

FdSet open_fds();
// "fd 7 -> anon_inode:kvm-vm, fd 9 -> pipe:[1234]" for the fds in after but
// not in before (same number, other target counts too); "" when none.
// An fd the library keeps for the whole process once opened (the /dev/kvm
// handle) is not counted.
std::string new_fds(const FdSet &before, const FdSet &after);
bool allow_lasting_fd(const std::string &target);

}  // namespace kvmt
