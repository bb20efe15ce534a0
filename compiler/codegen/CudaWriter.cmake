# CudaWriter (line/indent builder, exact CUDA literals): plain C++, shared by
# the compiler's emitters and the MLIR-free GEMM and attention generators.
# Included by whichever of them is configured first.
if(NOT TARGET EffcCudaWriter)
  add_library(EffcCudaWriter STATIC ${CMAKE_SOURCE_DIR}/compiler/codegen/CudaWriter.cpp)
  target_include_directories(EffcCudaWriter PUBLIC ${CMAKE_SOURCE_DIR})
  set_target_properties(EffcCudaWriter PROPERTIES POSITION_INDEPENDENT_CODE ON)
endif()
