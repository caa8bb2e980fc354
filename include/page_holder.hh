// Ways to hold a reference on host pages, the references that must make a
// shared-to-private conversion fail with EAGAIN: io_uring registered buffers,
// vmsplice into a pipe, and a long-term pin through debugfs gup_test. Each
// holder can also show what it sees through its own reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kvmt {

enum class HolderKind { IoUring, Vmsplice, GupTest };
constexpr HolderKind kHolderKinds[] = {HolderKind::IoUring, HolderKind::Vmsplice,
				       HolderKind::GupTest};
const char *holder_name(HolderKind k);  // "io_uring", "vmsplice", "gup_test"

class PageHolder {
public:
	// Holds [addr, addr + len); skips the test (with the reason) when this
	// kind of holder is unavailable, throws Error when taking it fails.
	static std::unique_ptr<PageHolder> take(HolderKind kind, void *addr, size_t len);
	virtual ~PageHolder() = default;
	virtual HolderKind kind() const = 0;
	// The bytes of the held pages as the holder sees them (its own reference).
	virtual std::vector<uint8_t> contents() = 0;
	// Drops the reference; the destructor does it too.
	virtual void release() = 0;
};

}  // namespace kvmt
