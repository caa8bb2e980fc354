// The operations of a random guest_memfd sequence, and their one-line text
// form, which a failure report prints and GMEM_REPLAY reads back:
//   alloc 3+2        fallocate(KEEP_SIZE) pages 3..4   (misalign=N adds N bytes to the offset)
//   punch 3+2        fallocate(PUNCH_HOLE|KEEP_SIZE)
//   hread 3+2        host reads every byte through the mapping (SIGBUS per page)
//   hwrite 3+2 seed=0x1f   host writes pattern(seed)
//   gread 3+2 / gwrite 3+2 seed=0x1f   the same from guest code
//   fork 3+2         a forked child reads every byte
//   hold 3+1         a pipe takes a reference on the page (vmsplice)
//   release          the oldest reference is read back and dropped
//   convert 3+2 to=private mode=zero   KVM_SET_MEMORY_ATTRIBUTES2
// Pages are host pages (page_size()). A sequence is ops separated by ';'.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "conversion_contract.hh"

namespace kvmt {

enum class OpKind : uint8_t {
	Allocate,
	Punch,
	HostRead,
	HostWrite,
	GuestRead,
	GuestWrite,
	ForkCheck,
	Hold,
	Release,
	Convert,
};
constexpr int kOpKinds = 10;

struct GmemOp {
	OpKind kind = OpKind::HostRead;
	uint64_t first = 0;       // page index
	uint64_t count = 0;       // pages
	uint64_t seed = 0;        // HostWrite, GuestWrite (non-zero)
	uint64_t misalign = 0;    // Allocate, Punch, Convert: 1..page_size()-1 bytes added to the offset
	bool to_private = false;  // Convert
	ContentMode mode = ContentMode::Unspecified;  // Convert

	bool operator==(const GmemOp &o) const;
};

// An operation on pages [first, first + count), for tests that write sequences by hand.
GmemOp make_op(OpKind kind, uint64_t first = 0, uint64_t count = 1, uint64_t seed = 0);

const char *op_kind_name(OpKind k);  // "hwrite"
std::string op_text(const GmemOp &op);
// False with *error ("unknown operation 'x'") when text is not an op.
bool parse_op(const std::string &text, GmemOp *op, std::string *error);

std::string sequence_text(const std::vector<GmemOp> &ops);  // "op; op; ..."
bool parse_sequence(const std::string &text, std::vector<GmemOp> *ops, std::string *error);

// What the stress and random programs report about their conversions.

// The hook of a declared profile: true when GMEM_EXPECT (run_tests.sh
// --expect, declared_profile.hh) holds the word "in_place=on". A test that
// then makes no conversion on a VM type the contract lets convert fails,
// naming why, instead of skipping.
bool conversions_required();
// Whether the contract lets VMs of this type convert at all once per-gmem
// attributes are on (not DEFAULT, SEV, SEV-ES: every request is EINVAL).
bool type_converts_in_place(const std::string &vm_type);

// Conversions that succeeded, per direction and content mode.
struct ConversionCounts {
	uint64_t n[2][std::size(kContentModes)] = {};  // [0]: to private, [1]: to shared

	void add(Direction d, ContentMode m, uint64_t count = 1);
	void add(const ConversionCounts &o);
	uint64_t of(Direction d) const;
	uint64_t total() const;
	// "to_private 12 (unspecified 7, preserve 5), to_shared 12 (unspecified 4, zero 8)"
	std::string text() const;
};

}  // namespace kvmt
