// GMEM_EXPECT (run_tests.sh --expect): what a lab declares its machine must
// offer. A test that needs a declared feature and does not get it fails,
// naming the declaration and what was found; what the declaration does not
// name skips as usual. Words, separated by blanks:
//
//   vm_types=default,sw_protected   these VM types can be created and used
//   in_place=on|off                 per-gmem attributes on (or off)
//   holders=io_uring,vmsplice,o_direct,gup_test   these page holders work
//   content_modes=on|none           the RFC v3-v5 content modes (or not)
#pragma once

#include <optional>
#include <set>
#include <string>

#include "test.hh"

namespace kvmt {

struct DeclaredProfile {
	std::string text;  // as declared; empty when nothing is
	std::optional<std::set<std::string>> vm_types;
	std::optional<bool> in_place;
	std::optional<std::set<std::string>> holders;
	std::optional<bool> content_modes;
};

// False with *error ("GMEM_EXPECT: unknown holder 'dma' (io_uring, ...)").
bool parse_declared_profile(const std::string &text, DeclaredProfile *out, std::string *error);
// From GMEM_EXPECT; checked with the program's options before the run.
const DeclaredProfile &declared_profile();

enum class Feature { VmType, InPlace, Holder, ContentModes };
// The names a declaration may use for a feature come from the layer that
// knows them (VM types: lib/kvm, holders: lib/holders); names of a feature
// nobody registered (a program without holders) are taken as written.
bool register_declared_names(Feature f, std::set<std::string> (*names)());
// Whether the declaration promises this feature (name: a VM type or holder).
bool feature_declared(Feature f, const std::string &name = "");
// Ends the test: a failure (at the caller's line) when the feature is
// declared, else a skip.
[[noreturn]] void feature_missing(Feature f, const std::string &name, const std::string &reason,
				  Where where = Where::here());

}  // namespace kvmt
