# Layering checks (DEVELOPING.md, "Libraries"): link edges the design forbids,
# checked over each target's transitive project dependencies at configure
# time. A violation registers a failing ctest `layering` naming the path.

# The project libraries `target` links, directly or through others (imported
# targets such as MLIR's are not followed).
function(effc_link_closure target out)
  set(seen)
  set(todo ${target})
  while(todo)
    list(POP_FRONT todo t)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(deps ${t} INTERFACE_LINK_LIBRARIES)
    else()
      get_target_property(deps ${t} LINK_LIBRARIES)
    endif()
    foreach(dep IN LISTS deps)
      if(TARGET ${dep} AND NOT dep IN_LIST seen)
        get_target_property(imported ${dep} IMPORTED)
        if(NOT imported)
          list(APPEND seen ${dep})
          list(APPEND todo ${dep})
        endif()
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

set(EFFC_LAYERING_ERRORS)
# effc_forbid(TARGET DEP...): TARGET must not link any DEP, even indirectly.
function(effc_forbid target)
  if(NOT TARGET ${target})
    set(EFFC_LAYERING_ERRORS "${EFFC_LAYERING_ERRORS}no target ${target}; " PARENT_SCOPE)
    return()
  endif()
  effc_link_closure(${target} closure)
  set(errors "${EFFC_LAYERING_ERRORS}")
  foreach(dep IN LISTS ARGN)
    if(dep IN_LIST closure)
      string(APPEND errors "${target} links ${dep}; ")
    endif()
  endforeach()
  set(EFFC_LAYERING_ERRORS "${errors}" PARENT_SCOPE)
endfunction()

if(NOT EFFC_RUNTIME_ONLY)
  # The dialect is MLIR only: folding through the host kernels is
  # EffHostFolding, registered by the tools.
  effc_forbid(EffDialect EffcHostKernels EffcRuntime EffHostFolding EffPasses EffcCodegen)
  # Passes decide with the text-free kernel model, not the CUDA generators.
  effc_forbid(EffPasses EffcAttentionCodegen EffcTensorCoreGemm EffcCodegenCore EffcDeviceCode EffcCodegen
              EffcPlan EffcOnnxImporter EffcRuntime)
  effc_forbid(EffcKernelModel EffcCodegenCore EffcDeviceCode EffDialect)
  effc_forbid(EffcOnnxImporter EffPasses EffcCodegen EffcPlan)
  effc_forbid(EffcCodegen EffcPlan EffPasses EffcOnnxImporter)
endif()
# The runtime links no compiler library.
effc_forbid(EffcRuntime EffDialect EffcCodegen EffcAttentionCodegen EffcTensorCoreGemm EffcKernelModel)
# effc-serve is a runtime client: the public API (EffcRuntime), httplib, protobuf.
if(TARGET effc-serve)
  effc_forbid(effc-serve EffcRuntimeInternals EffDialect EffcCodegen EffcPlan EffPasses)
endif()
# The runtime exposes only its public API (what cmake --install installs); its
# internals reach in-tree code through EffcRuntimeInternals.
get_target_property(EFFC_RUNTIME_INCLUDES EffcRuntime INTERFACE_INCLUDE_DIRECTORIES)
if(NOT EFFC_RUNTIME_INCLUDES STREQUAL "${CMAKE_SOURCE_DIR}/runtime/include")
  string(APPEND EFFC_LAYERING_ERRORS "EffcRuntime exposes ${EFFC_RUNTIME_INCLUDES}, not only runtime/include; ")
endif()
get_target_property(EFFC_RUNTIME_LINKS EffcRuntime INTERFACE_LINK_LIBRARIES)
foreach(dep IN LISTS EFFC_RUNTIME_LINKS)
  if(dep MATCHES "^(EffcHostKernels|EffcArtifactProto|EffcOnnxProto|EffcRuntimeInternalHeaders)$")
    string(APPEND EFFC_LAYERING_ERRORS "EffcRuntime passes ${dep} on to its users; ")
  endif()
endforeach()

if(EFFC_LAYERING_ERRORS)
  add_test(NAME layering COMMAND sh -c "echo 'layering violated: ${EFFC_LAYERING_ERRORS}' >&2; exit 1")
else()
  add_test(NAME layering COMMAND sh -c "echo 'layering checked at configure time: no forbidden link edge'")
endif()
