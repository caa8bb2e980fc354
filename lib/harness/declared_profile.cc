#include "declared_profile.hh"

#include <cstdlib>
#include <sstream>

#include "harness_options.hh"
#include "test.hh"
#include <map>

namespace kvmt {

using NameSource = std::set<std::string> (*)();

static std::map<Feature, NameSource> &name_sources()
{
	static std::map<Feature, NameSource> sources;
	return sources;
}

bool register_declared_names(Feature f, NameSource names)
{
	name_sources()[f] = names;
	return true;
}

static std::optional<std::set<std::string>> known_names(Feature f)
{
	auto it = name_sources().find(f);
	if (it == name_sources().end())
		return std::nullopt;
	return it->second();
}

static std::string joined(const std::set<std::string> &names)
{
	std::string s;
	for (const std::string &n : names)
		s += (s.empty() ? "" : ",") + n;
	return s;
}

static bool parse_names(const std::string &key, const std::string &value, Feature f,
			std::set<std::string> *out, std::string *error)
{
	std::optional<std::set<std::string>> known = known_names(f);
	std::stringstream in(value);
	std::string name;
	while (std::getline(in, name, ',')) {
		if (known && !known->count(name)) {
			*error = "GMEM_EXPECT: " + key + ": unknown name '" + name + "' (" + joined(*known) + ")";
			return false;
		}
		out->insert(name);
	}
	return true;
}

static bool parse_switch(const std::string &key, const std::string &value, const char *on,
			 const char *off, std::optional<bool> *out, std::string *error)
{
	if (value != on && value != off) {
		*error = "GMEM_EXPECT: " + key + ": '" + value + "' is neither " + on + " nor " + off;
		return false;
	}
	*out = value == on;
	return true;
}

bool parse_declared_profile(const std::string &text, DeclaredProfile *out, std::string *error)
{
	*out = {};
	out->text = text;
	std::stringstream in(text);
	std::string word;
	while (in >> word) {
		size_t eq = word.find('=');
		std::string key = word.substr(0, eq), value = eq == std::string::npos ? "" : word.substr(eq + 1);
		bool ok;
		if (key == "vm_types")
			ok = parse_names(key, value, Feature::VmType, &out->vm_types.emplace(), error);
		else if (key == "holders")
			ok = parse_names(key, value, Feature::Holder, &out->holders.emplace(), error);
		else if (key == "in_place")
			ok = parse_switch(key, value, "on", "off", &out->in_place, error);
		else if (key == "content_modes")
			ok = parse_switch(key, value, "on", "none", &out->content_modes, error);
		else {
			*error = "GMEM_EXPECT: unknown word '" + word +
				 "' (vm_types=, in_place=, holders=, content_modes=)";
			ok = false;
		}
		if (!ok)
			return false;
	}
	return true;
}

static bool check_declaration(std::string *error)
{
	DeclaredProfile p;
	const char *text = getenv("GMEM_EXPECT");
	return parse_declared_profile(text ? text : "", &p, error);
}
[[maybe_unused]] static const bool kChecked = register_option_check(check_declaration);

const DeclaredProfile &declared_profile()
{
	static const DeclaredProfile profile = [] {
		DeclaredProfile p;
		std::string error;
		const char *text = getenv("GMEM_EXPECT");
		parse_declared_profile(text ? text : "", &p, &error);  // checked before the run
		return p;
	}();
	return profile;
}

bool feature_declared(Feature f, const std::string &name)
{
	const DeclaredProfile &d = declared_profile();
	switch (f) {
	case Feature::VmType:
		return d.vm_types && d.vm_types->count(name);
	case Feature::InPlace:
		return d.in_place.value_or(false);
	case Feature::Holder:
		return d.holders && d.holders->count(name);
	case Feature::ContentModes:
		return d.content_modes.value_or(false);
	}
	return false;
}

void feature_missing(Feature f, const std::string &name, const std::string &reason, Where where)
{
	if (!feature_declared(f, name))
		skip(reason);
	record_failure(where.file, where.line,
		       "declared GMEM_EXPECT='" + declared_profile().text + "', but: " + reason);
	throw TestFailure{};
}

}  // namespace kvmt
