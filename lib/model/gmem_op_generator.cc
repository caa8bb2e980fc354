#include "gmem_op_generator.hh"

#include "page_size.hh"
#include "seeded_rng.hh"

namespace kvmt {

namespace {

struct Weight {
	OpKind kind;
	unsigned weight;
};

const Weight kWeights[] = {
	{OpKind::HostRead, 14}, {OpKind::HostWrite, 14}, {OpKind::GuestRead, 10},
	{OpKind::GuestWrite, 10}, {OpKind::Allocate, 5}, {OpKind::Punch, 9},
	{OpKind::ForkCheck, 2},  {OpKind::Hold, 3},       {OpKind::Release, 3},
	{OpKind::Convert, 20},
};

class Generator {
public:
	Generator(const GmemModelConfig &c, uint64_t seed) : cfg_(c), rng_(seed), model_(c) {}

	std::vector<GmemOp> run(size_t count)
	{
		std::vector<GmemOp> ops;
		while (ops.size() + 1 < count) {
			GmemOp op = pick(ops.size());
			GmemModel next = model_;
			if (next.apply(op).applicable) {
				model_ = next;
				ops.push_back(op);
			}
		}
		if (count)
			ops.push_back(final_read());
		return ops;
	}

private:
	OpKind pick_kind()
	{
		unsigned total = 0;
		for (const Weight &w : kWeights)
			total += op_offered(cfg_, w.kind) ? w.weight : 0;
		unsigned r = static_cast<unsigned>(rng_.below(total));
		for (const Weight &w : kWeights) {
			if (!op_offered(cfg_, w.kind))
				continue;
			if (r < w.weight)
				return w.kind;
			r -= w.weight;
		}
		return OpKind::HostRead;
	}

	uint64_t pick_count(uint64_t max)
	{
		uint64_t c = rng_.chance(50) ? 1 : rng_.chance(70) ? rng_.between(2, 4) : rng_.between(5, 8);
		return c < max ? c : max;
	}

	// A range inside [0, limit), or a bad one (empty, past the file) for the
	// operations that must refuse it.
	void pick_range(GmemOp &op, uint64_t limit, bool bad_inputs)
	{
		op.first = rng_.below(limit);
		op.count = pick_count(limit - op.first);
		if (!bad_inputs)
			return;
		if (rng_.chance(4))
			op.count = 0;
		else if (rng_.chance(8))
			op.count = cfg_.pages - op.first + rng_.between(1, 3);  // past the end
		else if (rng_.chance(6))
			op.misalign = rng_.chance(50) ? 1 : rng_.between(1, page_size() - 1);
	}

	ContentMode pick_mode()
	{
		unsigned r = static_cast<unsigned>(rng_.below(100));
		bool modes = cfg_.family == AttributesFamily::ContentModes;
		if (r < (modes ? 60u : 95u))
			return ContentMode::Unspecified;
		return r % 2 ? ContentMode::Zero : ContentMode::Preserve;
	}

	GmemOp pick(size_t index)
	{
		GmemOp op;
		op.kind = pick_kind();
		// Unique in the sequence, so that stale data never passes for new.
		op.seed = ((rng_.next() & 0xfff) << 20) | (index + 1);
		switch (op.kind) {
		case OpKind::HostRead:
		case OpKind::HostWrite:
		case OpKind::ForkCheck:
			pick_range(op, cfg_.mapped_pages, false);
			break;
		case OpKind::GuestRead:
		case OpKind::GuestWrite:
			pick_range(op, cfg_.pages, false);
			if (op.count > cfg_.max_guest_pages)
				op.count = cfg_.max_guest_pages;
			break;
		case OpKind::Hold:
			op.first = rng_.below(cfg_.mapped_pages);
			op.count = 1;
			break;
		case OpKind::Release:
			break;
		case OpKind::Allocate:
		case OpKind::Punch:
			pick_range(op, cfg_.pages, true);
			break;
		case OpKind::Convert:
			pick_range(op, cfg_.pages, true);
			op.to_private = rng_.chance(50);
			op.mode = pick_mode();
			break;
		}
		if (op.kind != OpKind::HostWrite && op.kind != OpKind::GuestWrite)
			op.seed = 0;
		return op;
	}

	GmemOp final_read() const
	{
		GmemOp op;
		op.kind = OpKind::HostRead;
		op.first = 0;
		op.count = cfg_.mapped_pages;
		return op;
	}

	GmemModelConfig cfg_;
	SeededRng rng_;
	GmemModel model_;
};

}  // namespace

std::vector<GmemOp> generate_ops(const GmemModelConfig &config, uint64_t seed, size_t count)
{
	return Generator(config, seed).run(count);
}

}  // namespace kvmt
