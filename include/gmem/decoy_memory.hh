// Anonymous memory full of 'A' that a guest_memfd memslot's userspace_addr
// points at instead of the gmem's own mapping. On a guest_memfd-only memslot
// (spec section 3 "Guest side") the guest neither sees nor changes it, so an
// 'A' the guest reads is a guest fault served through userspace_addr.
#pragma once

#include <cstdint>
#include <string>

#include "guest_pages.hh"
#include "mapping.hh"

namespace kvmt {

class DecoyMemory {
public:
	static constexpr uint8_t kByte = 'A';

	explicit DecoyMemory(uint64_t size);
	void *hva() const { return mem_.data(); }
	// "" while every byte is still kByte, else the first that is not.
	std::string first_change() const;

private:
	Mapping mem_;
};

// A wrong byte the guest read from gmem; "guest read 'A' (...)" when it is the decoy's.
std::string describe_guest_read(const GuestPagesResult &r);

}  // namespace kvmt
