#include "gmem_sequence_runner.hh"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <deque>
#include <memory>

#include "errors.hh"
#include "guest_memfd.hh"
#include "guest_pages.hh"
#include "guest_vm.hh"
#include "hex.hh"
#include "page_size.hh"
#include "peer.hh"
#include "pipe_reference.hh"
#include "sigbus.hh"
#include "test.hh"
#include "vm.hh"

namespace kvmt {

namespace {

constexpr uint32_t kGmemSlot = 1;
constexpr uint64_t kFlipOffset = 0x123;

using Mismatch = std::optional<std::string>;

std::string err_text(int err)
{
	return err ? errno_name(err) : "success";
}

// One sequence's world: VM, guest_memfd, its host mapping, a vCPU running
// guest_page_ops when guest code can run, and the references held.
struct Target {
	std::unique_ptr<GuestVm> tvm;
	std::unique_ptr<Vm> vm;
	std::unique_ptr<GuestMemfd> gmem;
	Mapping map;
	std::unique_ptr<GuestPages> guest;
	std::deque<PipeReference> refs;

	Target(const VmTypeInfo &type, const GmemModelConfig &c)
	{
		if (c.guest)
			tvm = std::make_unique<GuestVm>(type);
		else
			vm = std::make_unique<Vm>(type);
		Vm &v = tvm ? tvm->vm() : *vm;
		uint64_t flags = GUEST_MEMFD_FLAG_MMAP | (c.init_shared ? GUEST_MEMFD_FLAG_INIT_SHARED : 0);
		require_guest_memfd(v, flags);
		gmem = std::make_unique<GuestMemfd>(v, c.pages * page_size(), flags);
		uint64_t mapped = c.mapped_pages * page_size();
		void *p = gmem->__map(0, mapped, PROT_READ | PROT_WRITE, MAP_SHARED);
		if (p == MAP_FAILED)
			sys_check(-1, "mmap(guest_memfd, beyond its end)");
		map = Mapping(p, mapped);
		if (tvm) {
			tvm->add_gmem_slot(kGmemSlot, kTestGpaBase, c.pages * page_size(), gmem->fd(), 0, map.data());
			guest = std::make_unique<GuestPages>(*tvm, 0, kTestGpaBase);
		}
	}
	uint8_t *page(uint64_t i) { return map.data() + i * page_size(); }
};

Mismatch check_errno(const Prediction &p, int err, uint64_t error_offset)
{
	if (!p.allows(err))
		return "expected " + err_text(p.err) +
		       (p.also_allowed ? " or " + err_text(p.also_allowed) : std::string()) + ", got " +
		       err_text(err);
	bool writes_offset = err == EOPNOTSUPP || err == EAGAIN;
	if (writes_offset && p.check_error_offset && error_offset != p.error_offset)
		return "expected " + errno_name(err) + " with error_offset " + hex(p.error_offset) +
		       ", got error_offset " + hex(error_offset);
	return std::nullopt;
}

Mismatch check_sigbus(uint64_t page, bool expected, bool seen)
{
	if (expected == seen)
		return std::nullopt;
	return "page " + std::to_string(page) + " (gmem " + hex(page * page_size()) + "): expected " +
	       (expected ? "SIGBUS" : "no SIGBUS") + ", got " + (seen ? "SIGBUS" : "none");
}

Mismatch check_bytes(const volatile uint8_t *data, uint64_t page, const PageContent &c)
{
	int64_t bad = first_content_mismatch(data, page * page_size(), c);
	if (bad < 0)
		return std::nullopt;
	return describe_byte_mismatch(page * page_size() + bad, c, data[bad]);
}

class Execution {
public:
	Execution(Target &t, RunnerStats &stats, RunnerFaults faults)
		: t_(t), stats_(stats), faults_(faults) {}

	Mismatch run(const GmemOp &op, const Prediction &p)
	{
		stats_.ops[static_cast<int>(op.kind)]++;
		stats_.errno_checked += p.err != 0;
		switch (op.kind) {
		case OpKind::Allocate:
		case OpKind::Punch:
			return fallocate_op(op, p);
		case OpKind::HostRead:
		case OpKind::HostWrite:
			return host_op(op, p);
		case OpKind::GuestRead:
		case OpKind::GuestWrite:
			return guest_op(op, p);
		case OpKind::ForkCheck:
			return fork_op(op, p);
		case OpKind::Hold:
			return hold_op(op, p);
		case OpKind::Release:
			return release_op(p);
		case OpKind::Convert:
			return convert_op(op, p);
		}
		return "unknown operation";
	}

private:
	Mismatch fallocate_op(const GmemOp &op, const Prediction &p)
	{
		uint64_t off = op.first * page_size() + op.misalign, len = op.count * page_size();
		int err = op.kind == OpKind::Allocate ? t_.gmem->__allocate(off, len)
						      : t_.gmem->__punch_hole(off, len);
		return check_errno(p, err, 0);
	}

	Mismatch host_op(const GmemOp &op, const Prediction &p)
	{
		PageContent written = PageContent::pattern(op.seed);
		for (uint64_t k = 0; k < op.count; k++) {
			uint64_t page = op.first + k;
			const PageExpect &e = p.pages[k];
			ProbeResult r = probe(t_.page(page), Access::Read);
			stats_.sigbus_checked += e.sigbus;
			if (Mismatch m = check_sigbus(page, e.sigbus, r.sigbus))
				return m;
			if (r.sigbus && op.kind == OpKind::HostWrite)
				r = probe(t_.page(page), Access::Write, content_byte(written, page * page_size()));
			if (Mismatch m = check_sigbus(page, e.sigbus, r.sigbus))
				return m;
			if (r.sigbus)
				continue;
			stats_.pages_compared += e.content.kind != PageContent::Any;
			if (Mismatch m = check_bytes(t_.page(page), page, e.content))
				return m;
			if (op.kind == OpKind::HostWrite)
				fill_content(t_.page(page), page * page_size(), written);
		}
		return std::nullopt;
	}

	Mismatch guest_op(const GmemOp &op, const Prediction &p)
	{
		std::vector<PageContent> expect;
		for (const PageExpect &e : p.pages) {
			expect.push_back(e.content);
			stats_.pages_compared += e.content.kind != PageContent::Any;
		}
		if (faults_.hang_guest && !hung_) {
			hung_ = true;
			t_.guest->hang_next_round();
		}
		std::optional<PageContent> write;
		if (op.kind == OpKind::GuestWrite)
			write = PageContent::pattern(op.seed);
		try {
			GuestPagesResult r = t_.guest->run(op.first, op.count, expect, write);
			if (r.mismatch)
				return "guest read " + describe_byte_mismatch(r.file_offset, r.expected, r.seen);
		} catch (const Error &e) {
			return std::string("guest: ") + e.what();
		}
		return std::nullopt;
	}

	static Mismatch peer_page(Peer &peer, uint64_t page, const PageExpect &e)
	{
		uint64_t off = page * page_size();
		PeerReply r = e.sigbus ? peer.probe(off, page_size(), Access::Read)
				       : peer.check_content(off, page_size(), e.content);
		if (r.err)
			return "forked reader: " + errno_name(r.err);
		if (Mismatch m = check_sigbus(page, e.sigbus, r.sigbus_pages != 0))
			return "forked reader: " + *m;
		if (r.mismatches)
			return "forked reader: " + describe_byte_mismatch(r.first_bad, e.content, r.seen);
		return std::nullopt;
	}

	Mismatch fork_op(const GmemOp &op, const Prediction &p)
	{
		Peer peer(Peer::Kind::ForkedChild, t_.gmem->fd());
		try {
			PeerReply m = peer.map(t_.map.size());
			if (m.err)
				return "forked reader: mmap: " + errno_name(m.err);
			if (faults_.kill_child && !killed_) {
				killed_ = true;
				kill(peer.pid(), SIGKILL);
			}
			for (uint64_t k = 0; k < op.count; k++) {
				stats_.sigbus_checked += p.pages[k].sigbus;
				stats_.pages_compared += !p.pages[k].sigbus &&
							 p.pages[k].content.kind != PageContent::Any;
				if (Mismatch mm = peer_page(peer, op.first + k, p.pages[k]))
					return mm;
			}
		} catch (const Error &e) {
			int status = peer.finish();
			return std::string("forked reader died: ") + e.what() + ", exit status " +
			       (status > 128 ? "killed by signal " + std::to_string(status - 128)
					     : std::to_string(status));
		}
		int status = peer.finish();
		if (status)
			return "forked reader exited with status " + std::to_string(status);
		return std::nullopt;
	}

	Mismatch hold_op(const GmemOp &op, const Prediction &p)
	{
		PipeReference ref;
		int err = ref.take(t_.page(op.first), page_size());
		if (!err)
			t_.refs.push_back(std::move(ref));
		return check_errno(p, err, 0);
	}

	Mismatch release_op(const Prediction &p)
	{
		if (t_.refs.empty())
			return "no reference to release (the model holds one)";
		std::vector<uint8_t> seen = t_.refs.front().read_back();
		t_.refs.pop_front();
		stats_.pages_compared += p.pages[0].content.kind != PageContent::Any;
		if (Mismatch m = check_bytes(seen.data(), p.held_page, p.pages[0].content))
			return "reference holder: " + *m;
		return std::nullopt;
	}

	Mismatch convert_op(const GmemOp &op, const Prediction &p)
	{
		uint64_t attrs = op.to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		uint64_t offset = op.first * page_size() + op.misalign, size = op.count * page_size();
		// A refusal the model predicts (it holds a reference) is asked once;
		// otherwise transient kernel references are retried, as the contract says.
		AttributesResult r =
			p.err == EAGAIN
				? t_.gmem->set_attributes(offset, size, attrs, content_mode_flags(op.mode))
				: t_.gmem->convert(offset, size, attrs, content_mode_flags(op.mode));
		Mismatch m = check_errno(p, r.err, r.error_offset);
		if (m)
			return m;
		if (p.also_allowed)
			stats_.either_errno[r.err]++;
		if (r.err)
			stats_.convert_refused[r.err]++;
		else
			stats_.converted.add(op.to_private ? Direction::ToPrivate : Direction::ToShared, op.mode);
		return std::nullopt;
	}

	Target &t_;
	RunnerStats &stats_;
	RunnerFaults faults_;
	bool hung_ = false, killed_ = false;
};

}  // namespace

uint64_t RunnerStats::executed() const
{
	uint64_t n = 0;
	for (uint64_t c : ops)
		n += c;
	return n;
}

void RunnerStats::add(const RunnerStats &o)
{
	for (int k = 0; k < kOpKinds; k++)
		ops[k] += o.ops[k];
	skipped += o.skipped;
	errno_checked += o.errno_checked;
	sigbus_checked += o.sigbus_checked;
	pages_compared += o.pages_compared;
	converted.add(o.converted);
	for (const auto &[err, n] : o.convert_refused)
		convert_refused[err] += n;
	for (const auto &[err, n] : o.either_errno)
		either_errno[err] += n;
}

FlipTarget find_flip_target(const GmemModelConfig &config, const std::vector<GmemOp> &ops)
{
	GmemModel model(config);
	FlipTarget t;
	for (size_t i = 0; i < ops.size(); i++) {
		const GmemOp &op = ops[i];
		bool read = op.kind == OpKind::HostRead || op.kind == OpKind::ForkCheck ||
			    op.kind == OpKind::GuestRead;
		Prediction p = model.apply(op);
		if (!read || !p.applicable)
			continue;
		for (uint64_t k = 0; k < p.pages.size(); k++) {
			uint64_t page = op.first + k;
			if (p.pages[k].sigbus || p.pages[k].content.kind != PageContent::Pattern ||
			    model.state(page) != PageState::Shared)
				continue;
			t = {true, i, page};
			break;
		}
	}
	return t;
}

GmemSequenceRunner::GmemSequenceRunner(const VmTypeInfo &type, const GmemModelConfig &config,
				       RunnerFaults faults)
	: type_(type), config_(config), faults_(faults)
{
}

std::optional<SequenceFailure> GmemSequenceRunner::run(const std::vector<GmemOp> &ops)
{
	Target target(type_, config_);
	Execution exec(target, stats_, faults_);
	GmemModel model(config_);
	FlipTarget flip = faults_.flip_byte ? find_flip_target(config_, ops) : FlipTarget();
	for (size_t i = 0; i < ops.size(); i++) {
		Prediction p = model.apply(ops[i]);
		if (!p.applicable) {
			stats_.skipped++;
			continue;
		}
		if (flip.found && flip.op_index == i)
			target.page(flip.page)[kFlipOffset] ^= 0x5a;  // behind the oracle's back
		if (Mismatch m = exec.run(ops[i], p))
			return SequenceFailure{i, op_text(ops[i]), *m};
	}
	return std::nullopt;
}

}  // namespace kvmt
