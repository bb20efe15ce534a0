# The device code of every kernel family (*.cuh here), embedded as strings at
# build time (EmbedDeviceCode.cmake) into EffcDeviceCode, which the compiler's
# emitters and the MLIR-free GEMM and attention generators link. Included by
# whichever of them is configured first.
if(NOT TARGET EffcDeviceCode)
  set(EFFC_DEVICE_DIR ${CMAKE_SOURCE_DIR}/compiler/codegen/device)
  # Concatenation order of a full translation unit: dependencies first.
  set(EFFC_DEVICE_FILES
    ${EFFC_DEVICE_DIR}/primitives.cuh
    ${EFFC_DEVICE_DIR}/elementwise.cuh
    ${EFFC_DEVICE_DIR}/tensor_core_gemm.cuh
    ${EFFC_DEVICE_DIR}/ffma_gemm.cuh
    ${EFFC_DEVICE_DIR}/attention_common.cuh
    ${EFFC_DEVICE_DIR}/attention_forward.cuh
    ${EFFC_DEVICE_DIR}/attention_decode.cuh
    ${EFFC_DEVICE_DIR}/attention_reference.cuh)
  set(EFFC_DEVICE_FILES ${EFFC_DEVICE_FILES} CACHE INTERNAL "effc device code (.cuh)")
  set(EFFC_DEVICE_INC ${CMAKE_BINARY_DIR}/compiler/codegen/device/DeviceFiles.inc)
  add_custom_command(OUTPUT ${EFFC_DEVICE_INC}
    COMMAND ${CMAKE_COMMAND} -DOUT=${EFFC_DEVICE_INC} "-DFILES=${EFFC_DEVICE_FILES}"
            -P ${EFFC_DEVICE_DIR}/EmbedDeviceCode.cmake
    DEPENDS ${EFFC_DEVICE_FILES} ${EFFC_DEVICE_DIR}/EmbedDeviceCode.cmake
    COMMENT "Embedding compiler/codegen/device/*.cuh"
    VERBATIM)
  add_library(EffcDeviceCode STATIC ${EFFC_DEVICE_DIR}/DeviceCode.cpp ${EFFC_DEVICE_INC})
  target_include_directories(EffcDeviceCode PUBLIC ${CMAKE_SOURCE_DIR}
    PRIVATE ${CMAKE_BINARY_DIR}/compiler/codegen/device)
  set_target_properties(EffcDeviceCode PROPERTIES POSITION_INDEPENDENT_CODE ON)
endif()
