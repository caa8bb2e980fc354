// Conversion latency through KVM_SET_MEMORY_ATTRIBUTES2 on the gmem fd
// (GuestMemfd::set_attributes), one range per operation:
//   convert/<direction>/<mode>/<pages before>/<size>: the untimed setup of a
//     batch converts the whole file to the opposite state and puts the pages
//     of the batch's ranges into the state the name says;
//   convert/noop/<direction>/<size>: asks for the state the whole (allocated)
//     range already has, which must succeed at once (spec section 3);
//   convert/refused/to_private/<size>: a shared, host-written range whose last
//     page a pipe holds (vmsplice, kvmt::PageHolder: no debug option or
//     io_uring needed), so the kernel checks every page and answers EAGAIN
//     with error_offset = that page, changing nothing (spec section 3).
// The no-op and refused requests leave the state as it was: no setup between
// operations.
#include <cerrno>

#include "errors.hh"
#include "guest_memfd.hh"
#include "harness.hh"
#include "mapping.hh"
#include "page_holder.hh"
#include "page_size.hh"
#include "support.hh"
#include "timing.hh"
#include "vm.hh"

namespace bench {
namespace {

const char *population_name(Population p)
{
	switch (p) {
	case Population::Allocated:
		return "allocated";
	case Population::Mapped:
		return "mapped";
	case Population::Unallocated:
		break;
	}
	return "unallocated";
}

const std::vector<Population> &populations_for(Direction d)
{
	static const std::vector<Population> to_private = {
		Population::Unallocated, Population::Allocated, Population::Mapped};
	static const std::vector<Population> to_shared = {Population::Unallocated,
							  Population::Allocated};
	return d == Direction::ToPrivate ? to_private : to_shared;
}

// The flags of an untimed setup conversion: PRESERVE where the kernel offers
// it, so that a content-mode kernel does not scramble (UNSPECIFIED) every
// allocated page of the file before each batch; else 0.
uint64_t setup_flags(Direction d)
{
	return support().conversion_missing(d, Mode::Preserve).empty()
		       ? kvmt::content_mode_flags(Mode::Preserve)
		       : 0;
}

[[noreturn]] void conversion_failed(const char *what, uint64_t offset, uint64_t size,
				    const kvmt::AttributesResult &r)
{
	throw kvmt::Error(std::string(what) + " KVM_SET_MEMORY_ATTRIBUTES2(offset " +
			  std::to_string(offset) + ", size " + std::to_string(size) + "): " +
			  kvmt::errno_name(r.err) + ", error_offset " + std::to_string(r.error_offset));
}

// A guest_memfd on the VM type with private memory, cut into `chunks` ranges
// of `chunk_bytes`.
class ConversionRegion {
public:
	// host_mapping: create the gmem with MMAP|INIT_SHARED and map all of it.
	ConversionRegion(uint64_t chunk_bytes, uint64_t chunks, bool host_mapping)
		: vm_(private_vm_type()),
		  gmem_(vm_, chunk_bytes * chunks, host_mapping ? kInPlaceFlags : 0),
		  chunk_(chunk_bytes)
	{
		if (host_mapping)
			map_ = gmem_.map();
	}

	uint8_t *mapping() const { return map_.data(); }
	uint64_t eagain_retries() const { return retries_; }

	// Untimed: the whole file to d's target state (transient EAGAIN retried).
	void convert_all(Direction d)
	{
		uint64_t size = gmem_.size();
		kvmt::AttributesResult r = gmem_.convert(0, size, target_attributes(d), setup_flags(d));
		if (r.err)
			conversion_failed("setup:", 0, size, r);
	}

	// Untimed: the first len bytes into state p.
	void populate(Population p, uint64_t len)
	{
		if (p == Population::Unallocated) {
			gmem_.punch_hole(0, len);
			return;
		}
		gmem_.allocate(0, len);
		if (p != Population::Mapped)
			return;
		volatile uint8_t *mem = map_.data();
		uint64_t page = kvmt::page_size();
		for (uint64_t off = 0; off < len; off += page)
			mem[off] = 1;
	}

	// Timed: a transient EAGAIN is retried and counted, any other error throws.
	void convert_chunk(uint64_t i, Direction d, uint64_t flags)
	{
		kvmt::AttributesResult r =
			gmem_.convert(i * chunk_, chunk_, target_attributes(d), flags, &retries_);
		if (r.err)
			conversion_failed(direction_name(d), i * chunk_, chunk_, r);
	}

	// One raw attempt on chunk i, no retry.
	kvmt::AttributesResult try_convert(uint64_t i, Direction d, uint64_t flags) const
	{
		return gmem_.set_attributes(i * chunk_, chunk_, target_attributes(d), flags);
	}

private:
	kvmt::Vm vm_;
	kvmt::GuestMemfd gmem_;
	kvmt::Mapping map_;
	uint64_t chunk_;
	uint64_t retries_ = 0;
};

struct ConversionCase {
	Direction direction;
	Mode mode;
	Population population;
	const BenchSize *size;
};

void convert(benchmark::State &state, const ConversionCase &c)
{
	uint64_t bytes = c.size->bytes, batch = batch_ops(bytes);
	ConversionRegion region(bytes, batch, c.population == Population::Mapped);
	BatchTotals t = run_batched(
		state, batch,
		[&](uint64_t n) {
			region.convert_all(opposite(c.direction));
			region.populate(c.population, n * bytes);
		},
		[&](uint64_t i) { region.convert_chunk(i, c.direction, kvmt::content_mode_flags(c.mode)); });
	report_conversion(state, t, bytes, FloorFd::Gmem, c.mode, region.eagain_retries());
}

std::string skip_reason(const ConversionCase &c)
{
	std::string why = support().conversion_missing(c.direction, c.mode);
	if (why.empty() && c.population == Population::Mapped)
		why = support().mapping_missing();
	if (why.empty())
		why = batch_bound_reason(c.size->bytes);
	return why;
}

void noop_conversion(benchmark::State &state, Direction d, const BenchSize &size)
{
	ConversionRegion region(size.bytes, 1, false);
	region.convert_all(d);
	region.populate(Population::Allocated, size.bytes);
	BatchTotals t = run_unbatched(state, [&](uint64_t) { region.convert_chunk(0, d, 0); });
	report_conversion(state, t, size.bytes, FloorFd::Gmem, Mode::Unspecified,
			  region.eagain_retries());
}

void expect_refusal(const kvmt::AttributesResult &r, uint64_t held_offset)
{
	if (r.err != EAGAIN || r.error_offset != held_offset)
		throw kvmt::Error("to_private over a held page should fail with EAGAIN at offset " +
				  std::to_string(held_offset) + ", got " +
				  (r.err ? kvmt::errno_name(r.err) : std::string("success")) +
				  " at error_offset " + std::to_string(r.error_offset));
}

void refused_conversion(benchmark::State &state, const BenchSize &size)
{
	ConversionRegion region(size.bytes, 1, true);
	region.convert_all(Direction::ToShared);
	region.populate(Population::Mapped, size.bytes);
	uint64_t page = kvmt::page_size(), held = size.bytes - page;
	auto holder = kvmt::PageHolder::take(kvmt::HolderKind::Vmsplice, region.mapping() + held, page);
	expect_refusal(region.try_convert(0, Direction::ToPrivate, 0), held);
	BatchTotals t = run_unbatched(state, [&](uint64_t) {
		kvmt::AttributesResult r = region.try_convert(0, Direction::ToPrivate, 0);
		if (r.err != EAGAIN)
			expect_refusal(r, held);
	});
	report_conversion(state, t, size.bytes, FloorFd::Gmem, Mode::Unspecified, 0);
}

void register_converts()
{
	for (Direction d : kvmt::kDirections)
		for (Mode m : modes_for(d))
			for (Population p : populations_for(d))
				for (const BenchSize &size : all_sizes()) {
					ConversionCase c{d, m, p, &size};
					add_benchmark(bench_name({"convert", direction_name(d), mode_name(m),
								  population_name(p), size.name}),
						      skip_reason(c),
						      [c](benchmark::State &state) { convert(state, c); });
				}
}

void register_noops()
{
	for (Direction d : kvmt::kDirections)
		for (const BenchSize &size : all_sizes()) {
			std::string skip = support().conversion_missing(d, Mode::Unspecified);
			if (skip.empty())
				skip = memory_bound_reason(size.bytes);
			add_benchmark(bench_name({"convert", "noop", direction_name(d), size.name}), skip,
				      [d, &size](benchmark::State &state) { noop_conversion(state, d, size); });
		}
}

void register_refusals()
{
	for (const BenchSize &size : all_sizes()) {
		std::string skip = support().conversion_missing(Direction::ToPrivate, Mode::Unspecified);
		if (skip.empty())
			skip = support().mapping_missing();
		if (skip.empty())
			skip = memory_bound_reason(size.bytes);
		add_benchmark(bench_name({"convert", "refused", "to_private", size.name}), skip,
			      [&size](benchmark::State &state) { refused_conversion(state, size); });
	}
}

}  // namespace

void register_conversion_benchmarks()
{
	register_converts();
	register_noops();
	register_refusals();
}

}  // namespace bench
