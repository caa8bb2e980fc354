// Another process that maps the same guest_memfd: a forked child (inherits
// the fd) or an unrelated process (a fresh exec of this program that receives
// the fd over SCM_RIGHTS). The test drives it with small requests and gets
// back what it saw: the data, or a SIGBUS.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "fd.hh"
#include "page_content.hh"
#include "sigbus.hh"

namespace kvmt {

struct PeerReply {
	int32_t err;          // 0, or an errno (mmap failure, ...)
	uint64_t sigbus_pages;// pages that raised SIGBUS
	uint64_t mismatches;  // bytes that differ from the pattern
	uint64_t first_bad;   // offset of the first SIGBUS page or mismatching byte
	uint8_t expected;
	uint8_t seen;
};

class Peer {
public:
	enum class Kind { ForkedChild, Unrelated };
	// ForkedChild uses gmem_fd as inherited; Unrelated gets it over SCM_RIGHTS.
	Peer(Kind kind, int gmem_fd);
	~Peer();
	Peer(const Peer &) = delete;
	Peer &operator=(const Peer &) = delete;

	static const char *kind_name(Kind k);

	// mmap(MAP_SHARED) of [0, len) of the gmem in the peer.
	PeerReply map(uint64_t len);
	// Compares every byte of [offset, offset + len) with pattern(seed); a
	// page that SIGBUSes counts in sigbus_pages and is not compared.
	PeerReply check(uint64_t offset, uint64_t len, uint64_t seed);
	// Checks every byte of the range is zero.
	PeerReply check_zero(uint64_t offset, uint64_t len);
	// Checks the range against what an oracle says it holds: pattern(seed)
	// or zeros byte by byte; contents the contract leaves unspecified
	// (PageContent::Any) only for reading without SIGBUS.
	PeerReply check_content(uint64_t offset, uint64_t len, const PageContent &c);
	// Writes pattern(seed) into the range; SIGBUS pages are counted.
	PeerReply fill(uint64_t offset, uint64_t len, uint64_t seed);
	// One access per page; returns the SIGBUS count.
	PeerReply probe(uint64_t offset, uint64_t len, Access access);
	// Closes the peer's gmem fd, keeping its mapping.
	PeerReply close_fd();

	// Whether the peer exited cleanly (0) after finish(); -1 if still running.
	int finish();
	// The peer's process id (-1 after finish()).
	pid_t pid() const { return pid_; }

private:
	PeerReply call(uint32_t op, uint64_t offset, uint64_t len, uint64_t arg);
	UniqueFd sock_;
	pid_t pid_ = -1;
};

// Called first by main(): when this process was started as an unrelated peer,
// serves it and exits.
void serve_peer_if_requested();

}  // namespace kvmt
