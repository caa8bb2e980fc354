// The oracle of the random-sequence test: a model of one guest_memfd (per
// page: shared or private, allocated or not, and what it holds; per folio:
// who else references it) that predicts every operation's outcome from the
// contract (../shared/spec/gmem-conversion-uapi.md, conversion_contract.hh):
// the data each page reads back, which pages SIGBUS, the errno and the
// error_offset. Pages are host pages (page_size()), as guest_memfd's. No KVM
// needed: tests/gmem_model_unit.cc checks it alone.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "gmem_ops.hh"
#include "page_content.hh"
#include "page_state.hh"
#include "profile.hh"

namespace kvmt {

struct GmemModelConfig {
	std::string vm_type = "default";  // the contract table's VM type name
	AttributesFamily family = AttributesFamily::None;  // None: no conversions
	uint64_t pages = 16;          // file size in pages
	uint64_t mapped_pages = 18;   // host mapping; the pages beyond the file SIGBUS
	bool init_shared = true;      // GUEST_MEMFD_FLAG_INIT_SHARED
	bool guest = false;           // guest code can run (gread/gwrite)
	bool guest_private = false;   // guest code may touch private pages
	uint64_t max_guest_pages = 8;
	uint64_t max_holders = 4;
	bool broken_punch = false;    // test-only: a broken oracle (a punch keeps the data)
};

// Whether the running kernel (as described by config) offers the operation.
bool op_offered(const GmemModelConfig &config, OpKind kind);

struct PageExpect {
	bool sigbus = false;
	PageContent content;  // when it does not SIGBUS
};

struct Prediction {
	bool applicable = true;  // false: the op's precondition fails here; it is skipped
	int err = 0;
	// Another errno the contract allows just as well (0: none). A conversion
	// that is both invalid (EINVAL: empty, unaligned, past the end; spec
	// section 3) and asks for a content mode the type or direction cannot
	// honour (EOPNOTSUPP, section 4) may get either: the spec places the mode
	// check before the no-op success, and says nothing of its order against
	// the EINVAL checks.
	int also_allowed = 0;
	// When the call fails with an errno that writes error_offset (EOPNOTSUPP,
	// EAGAIN), error_offset must be this value.
	bool check_error_offset = false;
	uint64_t error_offset = 0;
	// Each page of the range of hread/hwrite/gread/gwrite/fork: whether it
	// SIGBUSes and what it holds (for a write: before the write, which the
	// runner checks first); release: what the reference holder sees.
	std::vector<PageExpect> pages;
	uint64_t held_page = 0;  // release: the page index the reference was taken at

	bool allows(int e) const { return e == err || (also_allowed && e == also_allowed); }
};

class GmemModel {
public:
	explicit GmemModel(const GmemModelConfig &config);
	const GmemModelConfig &config() const { return cfg_; }

	// Predicts op's outcome from the current state, then applies it.
	Prediction apply(const GmemOp &op);

	PageState state(uint64_t page) const { return pages_.at(page).state; }
	bool allocated(uint64_t page) const { return pages_.at(page).folio >= 0; }
	PageContent content(uint64_t page) const;  // zero when not allocated
	size_t holders() const { return holders_.size(); }

private:
	struct Page {
		PageState state;
		int64_t folio = -1;  // index into folios_, -1: not allocated
	};

	bool in_file(uint64_t first, uint64_t count) const;
	int64_t folio_of(uint64_t page);  // allocates a zeroed folio
	PageExpect host_touch(uint64_t page, const PageContent *write);

	Prediction allocate(const GmemOp &op);
	Prediction punch(const GmemOp &op);
	Prediction host_access(const GmemOp &op);
	Prediction guest_access(const GmemOp &op);
	Prediction hold(const GmemOp &op);
	Prediction release();
	Prediction convert(const GmemOp &op);
	void convert_contents(const GmemOp &op, Content c);

	GmemModelConfig cfg_;
	std::vector<Page> pages_;
	std::vector<PageContent> folios_;
	struct Held {
		int64_t folio;  // what the reference holds, even after a punch
		uint64_t page;  // where it was taken
	};
	std::deque<Held> holders_;  // oldest first
};

}  // namespace kvmt
