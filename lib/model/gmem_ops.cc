#include "gmem_ops.hh"
#include "hex.hh"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "declared_profile.hh"
#include "page_size.hh"

namespace kvmt {

namespace {

const char *const kKindNames[kOpKinds] = {"alloc", "punch", "hread",   "hwrite",  "gread",
					  "gwrite", "fork", "hold", "release", "convert"};

bool has_range(OpKind k)
{
	return k != OpKind::Release;
}

bool has_seed(OpKind k)
{
	return k == OpKind::HostWrite || k == OpKind::GuestWrite;
}

bool has_misalign(OpKind k)
{
	return k == OpKind::Allocate || k == OpKind::Punch || k == OpKind::Convert;
}

bool parse_number(const std::string &s, uint64_t *v)
{
	if (s.empty() || s[0] == '-')
		return false;
	char *end = nullptr;
	errno = 0;
	unsigned long long n = strtoull(s.c_str(), &end, 0);
	if (errno || *end)
		return false;
	*v = n;
	return true;
}

bool parse_range(const std::string &s, GmemOp *op)
{
	size_t plus = s.find('+');
	return plus != std::string::npos && parse_number(s.substr(0, plus), &op->first) &&
	       parse_number(s.substr(plus + 1), &op->count);
}

bool parse_mode(const std::string &s, ContentMode *m)
{
	for (ContentMode c : kContentModes)
		if (s == mode_name(c)) {
			*m = c;
			return true;
		}
	return false;
}

// One "key=value" word of an op.
bool parse_field(const std::string &word, GmemOp *op)
{
	size_t eq = word.find('=');
	if (eq == std::string::npos)
		return false;
	std::string key = word.substr(0, eq), value = word.substr(eq + 1);
	if (key == "seed" && has_seed(op->kind))
		return parse_number(value, &op->seed) && op->seed;
	if (key == "misalign" && has_misalign(op->kind))
		return parse_number(value, &op->misalign) && op->misalign && op->misalign < page_size();
	if (key == "to" && op->kind == OpKind::Convert && (value == "private" || value == "shared")) {
		op->to_private = value == "private";
		return true;
	}
	if (key == "mode" && op->kind == OpKind::Convert)
		return parse_mode(value, &op->mode);
	return false;
}

std::string trim(const std::string &s)
{
	size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
	return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

bool GmemOp::operator==(const GmemOp &o) const
{
	return kind == o.kind && first == o.first && count == o.count && seed == o.seed &&
	       misalign == o.misalign && to_private == o.to_private && mode == o.mode;
}

GmemOp make_op(OpKind kind, uint64_t first, uint64_t count, uint64_t seed)
{
	GmemOp o;
	o.kind = kind;
	o.first = first;
	o.count = count;
	o.seed = seed;
	return o;
}

const char *op_kind_name(OpKind k)
{
	return kKindNames[static_cast<int>(k)];
}

std::string op_text(const GmemOp &op)
{
	std::string s = op_kind_name(op.kind);
	if (has_range(op.kind))
		s += " " + std::to_string(op.first) + "+" + std::to_string(op.count);
	if (has_seed(op.kind))
		s += " seed=" + hex(op.seed);
	if (op.kind == OpKind::Convert)
		s += std::string(" to=") + (op.to_private ? "private" : "shared") + " mode=" +
		     mode_name(op.mode);
	if (has_misalign(op.kind) && op.misalign)
		s += " misalign=" + std::to_string(op.misalign);
	return s;
}

bool parse_op(const std::string &text, GmemOp *op, std::string *error)
{
	std::istringstream in(text);
	std::string word;
	in >> word;
	*op = GmemOp();
	int k = 0;
	while (k < kOpKinds && word != kKindNames[k])
		k++;
	if (k == kOpKinds) {
		*error = "unknown operation '" + word + "'";
		return false;
	}
	op->kind = static_cast<OpKind>(k);
	if (has_range(op->kind) && !(in >> word && parse_range(word, op))) {
		*error = "'" + text + "': expected FIRST+COUNT after " + kKindNames[k];
		return false;
	}
	while (in >> word)
		if (!parse_field(word, op)) {
			*error = "'" + text + "': bad field '" + word + "'";
			return false;
		}
	if (has_seed(op->kind) && !op->seed) {
		*error = "'" + text + "': needs seed=N (non-zero)";
		return false;
	}
	return true;
}

std::string sequence_text(const std::vector<GmemOp> &ops)
{
	std::string s;
	for (const GmemOp &op : ops)
		s += (s.empty() ? "" : "; ") + op_text(op);
	return s;
}

bool conversions_required()
{
	return feature_declared(Feature::InPlace);
}

bool type_converts_in_place(const std::string &vm_type)
{
	return contract_cell(vm_type, Direction::ToPrivate, ContentMode::Unspecified,
			     LaunchPhase::BeforeFinalize, AttributesFamily::Applied).err == 0;
}

void ConversionCounts::add(Direction d, ContentMode m, uint64_t count)
{
	n[d == Direction::ToShared][static_cast<size_t>(m)] += count;
}

void ConversionCounts::add(const ConversionCounts &o)
{
	for (Direction d : kDirections)
		for (ContentMode m : kContentModes)
			add(d, m, o.n[d == Direction::ToShared][static_cast<size_t>(m)]);
}

uint64_t ConversionCounts::of(Direction d) const
{
	uint64_t sum = 0;
	for (uint64_t c : n[d == Direction::ToShared])
		sum += c;
	return sum;
}

uint64_t ConversionCounts::total() const
{
	return of(Direction::ToPrivate) + of(Direction::ToShared);
}

std::string ConversionCounts::text() const
{
	std::string s;
	for (Direction d : kDirections) {
		std::string modes;
		for (ContentMode m : kContentModes)
			if (uint64_t c = n[d == Direction::ToShared][static_cast<size_t>(m)])
				modes += (modes.empty() ? "" : ", ") + std::string(mode_name(m)) + " " +
					 std::to_string(c);
		s += std::string(s.empty() ? "" : ", ") + direction_name(d) + " " + std::to_string(of(d)) +
		     (modes.empty() ? "" : " (" + modes + ")");
	}
	return s;
}

bool parse_sequence(const std::string &text, std::vector<GmemOp> *ops, std::string *error)
{
	ops->clear();
	std::istringstream in(text);
	std::string part;
	while (std::getline(in, part, ';')) {
		part = trim(part);
		if (part.empty())
			continue;
		GmemOp op;
		if (!parse_op(part, &op, error))
			return false;
		ops->push_back(op);
	}
	if (ops->empty()) {
		*error = "no operations";
		return false;
	}
	return true;
}

}  // namespace kvmt
