#include "conversion.hh"

#include "kvm_uapi.hh"

namespace bench {

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

Direction opposite(Direction d)
{
	return d == Direction::ToPrivate ? Direction::ToShared : Direction::ToPrivate;
}

uint64_t target_attributes(Direction d)
{
	return d == Direction::ToPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

const std::vector<Mode> &modes_for(Direction d)
{
	static const std::vector<Mode> to_private = {Mode::Unspecified, Mode::Preserve};
	static const std::vector<Mode> to_shared = {Mode::Unspecified, Mode::Zero, Mode::Preserve};
	return d == Direction::ToPrivate ? to_private : to_shared;
}

const std::vector<Population> &populations_for(Direction d)
{
	static const std::vector<Population> to_private = {
		Population::Unallocated, Population::Allocated, Population::Mapped};
	static const std::vector<Population> to_shared = {Population::Unallocated,
							  Population::Allocated};
	return d == Direction::ToPrivate ? to_private : to_shared;
}

}  // namespace bench
