#include "decoy_memory.hh"

#include <cstring>

#include "hex.hh"
#include "page_content.hh"
#include "pattern.hh"

namespace kvmt {

DecoyMemory::DecoyMemory(uint64_t size) : mem_(Mapping::anonymous(size))
{
	memset(mem_.data(), kByte, size);
}

std::string DecoyMemory::first_change() const
{
	int64_t bad = find_byte_mismatch(mem_.data(), mem_.size(), kByte);
	if (bad < 0)
		return "";
	return "the memory at userspace_addr changed: byte " + hex(bad) + " is " +
	       hex(mem_.data()[bad]) + ", not 'A' (a guest write went through userspace_addr)";
}

std::string describe_guest_read(const GuestPagesResult &r)
{
	std::string where = describe_byte_mismatch(r.file_offset, r.expected, r.seen);
	if (r.seen != DecoyMemory::kByte)
		return "guest read a wrong byte: " + where;
	return "guest read 'A', the memory at userspace_addr, not the guest_memfd's page: " + where +
	       " (the guest fault was served through userspace_addr)";
}

}  // namespace kvmt
