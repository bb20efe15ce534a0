//===- DeviceCode.h - the embedded device code (*.cuh) -----------*- C++ -*-===//
//
// compiler/codegen/device/*.cuh are embedded at build time. A generated
// translation unit starts with the files its kernels need, concatenated in
// dependency order; the emitters then write only the kernels: config structs,
// template instantiations and fused expressions.
//
#ifndef EFFC_COMPILER_CODEGEN_DEVICE_DEVICECODE_H
#define EFFC_COMPILER_CODEGEN_DEVICE_DEVICECODE_H

#include <initializer_list>
#include <string>
#include <string_view>

namespace effc::codegen {

/// The text of device/<name> (its sibling #includes commented out). Aborts
/// on an unknown name: the list is fixed at build time.
std::string_view deviceFile(std::string_view name);

/// The named files concatenated in the given order, each once. Every file is
/// include-guarded, so two such prefixes in one translation unit are harmless.
std::string deviceSources(std::initializer_list<std::string_view> names);

} // namespace effc::codegen

#endif
