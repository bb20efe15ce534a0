# EffcKernelDesc: the MLIR-free core every emitter shares (the kernel
# description, dtype spellings, index-math helpers). The GEMM emitters
# (gemm/) build on it and are linked by the runtime-only benchmark, so it
# stays plain C++. Included by whichever of compiler/codegen/ and gemm/ is
# configured first.
include(${CMAKE_SOURCE_DIR}/compiler/codegen/CudaWriter.cmake)
if(NOT TARGET EffcKernelDesc)
  add_library(EffcKernelDesc STATIC
    ${CMAKE_SOURCE_DIR}/compiler/codegen/DTypeInfo.cpp
    ${CMAKE_SOURCE_DIR}/compiler/codegen/EmitterUtil.cpp
    ${CMAKE_SOURCE_DIR}/compiler/codegen/KernelDesc.cpp)
  target_include_directories(EffcKernelDesc PUBLIC ${CMAKE_SOURCE_DIR} ${CMAKE_SOURCE_DIR}/runtime/include)
  set_target_properties(EffcKernelDesc PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(EffcKernelDesc PUBLIC EffcCudaWriter)
endif()
