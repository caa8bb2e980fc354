#include "vm_type.hh"

#include "declared_profile.hh"
#include "errors.hh"

namespace kvmt {

const VmTypeInfo &vm_type_by_name(const std::string &name)
{
	for (const VmTypeInfo &t : arch_vm_types())
		if (name == t.name)
			return t;
	throw Error("unknown VM type '" + name + "'");
}

const VmTypeInfo &default_vm_type()
{
	return arch_vm_types().front();
}

static std::set<std::string> vm_type_names()
{
	std::set<std::string> names;
	for (const VmTypeInfo &t : arch_vm_types())
		names.insert(t.name);
	return names;
}
[[maybe_unused]] static const bool kNamesDeclared =
	register_declared_names(Feature::VmType, vm_type_names);

std::vector<VmTypeVariant> vm_type_variants()
{
	std::vector<VmTypeVariant> variants;
	for (const VmTypeInfo &t : arch_vm_types())
		variants.push_back({t.name, &t});
	return variants;
}

}  // namespace kvmt
