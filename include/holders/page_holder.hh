// Ways to hold a reference on host pages, the references that must make a
// shared-to-private conversion fail with EAGAIN: io_uring registered buffers,
// vmsplice into a pipe, an O_DIRECT read in flight (from a FUSE file whose
// reads wait for the test; its server is a child process that dies with the
// test), and a long-term pin through debugfs gup_test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kvmt {

constexpr uint8_t kODirectFill = 0xa5;

enum class HolderKind { IoUring, Vmsplice, ODirect, GupTest };
constexpr HolderKind kHolderKinds[] = {HolderKind::IoUring, HolderKind::Vmsplice,
				       HolderKind::ODirect, HolderKind::GupTest};
const char *holder_name(HolderKind k);  // "io_uring", "vmsplice", "o_direct", "gup_test"

class PageHolder {
public:
	// Holds [addr, addr + len); skips the test (with the reason) when this
	// kind of holder is unavailable, throws Error when taking it fails.
	static std::unique_ptr<PageHolder> take(HolderKind kind, void *addr, size_t len);
	virtual ~PageHolder() = default;
	virtual HolderKind kind() const = 0;
	// The bytes of the held pages through the holder's own reference, which
	// still sees the pages it took after a punch gave the file new ones. The
	// O_DIRECT holder's read writes into the pages: contents() lets it
	// complete with kODirectFill and returns the bytes then found in the
	// pages the read pinned (through a second O_DIRECT request on them, see
	// lib/holders/page_holder.cc); it throws Error when the read did not
	// complete in full. That also releases the O_DIRECT holder; after
	// release(), its contents() are what release() observed.
	virtual std::vector<uint8_t> contents() = 0;
	// Drops the reference; the destructor does it too.
	virtual void release() = 0;
};

}  // namespace kvmt
