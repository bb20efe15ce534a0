// The .effc file layout (all integers little-endian):
//
//   offset size
//   0      8    magic "EFFCART\0"
//   8      4    u32 format_version (= kFormatVersion)
//   12     4    u32 header_size (= kHeaderSize)
//   16     8    u64 manifest_offset     24  8  u64 manifest_size
//   32     8    u64 payload_offset      40  8  u64 payload_size   (kernel sources; may be 0)
//   48     8    u64 weights_offset      56  8  u64 weights_size
//   64     8    u64 file_size
//   72     8    u64 manifest_checksum = FNV-1a 64 of the manifest bytes
//   80     8    u64 payload_checksum  = FNV-1a 64 of the payload bytes
//   88     8    u64 header_checksum   = FNV-1a 64 of bytes [0, 88)
//   then zero padding to 256; sections follow, each starting 256-byte aligned:
//   manifest (serialized effc.artifact.Manifest), payload, weights. Inside the
//   weights section each weight starts 256-byte aligned (Manifest.weights
//   gives offset, size and FNV-1a checksum), so the section can be mmapped or
//   copied to the device once. Every byte is covered: sections by their
//   checksums, padding must be zero, so any corruption is detected at load.
#pragma once

#include <cstdint>
#include <cstring>

namespace effc::format {

constexpr char kMagic[8] = {'E', 'F', 'F', 'C', 'A', 'R', 'T', '\0'};
/// Version 1: every shape static. Version 2 adds symbolic dims (Manifest.dims,
/// Buffer.shape_exprs). Version 3 marks what a version 1 or 2 runtime would
/// ignore and then run wrongly: TMA tensor maps (Kernel.tensor_maps) and a
/// device plan (Manifest.devices > 1); its dims are optional. Version 4 adds
/// session state (Manifest.states, Buffer STATE: a KV cache kept in place),
/// which an older runtime would run as an ordinary input it is never given.
/// Version 5 adds shape expressions of fusion body values
/// (BodyOp.result_shape_exprs: values that transpose/slice/concat in the body
/// shape apart from the output), which an older host backend would size at
/// their bounds.
/// The writer picks the lowest version that holds the manifest, so artifacts
/// of fixed shapes stay byte-identical to version 1.
constexpr uint32_t kFormatVersionStatic = 1;
constexpr uint32_t kFormatVersionDims = 2;
constexpr uint32_t kFormatVersionPlacement = 3;
constexpr uint32_t kFormatVersionState = 4;
constexpr uint32_t kFormatVersionBodyShapes = 5;
constexpr uint32_t kFormatVersion = 5; ///< the newest this runtime reads
inline uint32_t formatVersionFor(bool hasSymbolicDims, bool needsVersion3, bool hasState = false,
                                 bool hasBodyShapeExprs = false) {
  return hasBodyShapeExprs ? kFormatVersionBodyShapes
         : hasState        ? kFormatVersionState
         : needsVersion3   ? kFormatVersionPlacement
         : hasSymbolicDims ? kFormatVersionDims
                           : kFormatVersionStatic;
}
constexpr uint32_t kHeaderSize = 96;
constexpr uint64_t kAlign = 256;

struct Header {
  uint32_t formatVersion = kFormatVersionStatic;
  uint32_t headerSize = kHeaderSize;
  uint64_t manifestOffset = 0, manifestSize = 0;
  uint64_t payloadOffset = 0, payloadSize = 0;
  uint64_t weightsOffset = 0, weightsSize = 0;
  uint64_t fileSize = 0;
  uint64_t manifestChecksum = 0, payloadChecksum = 0;
  uint64_t checksum = 0; // of the header itself
};

inline uint64_t alignUp(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

inline void putU32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = uint8_t(v >> (8 * i));
}
inline void putU64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = uint8_t(v >> (8 * i));
}
inline uint32_t getU32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t(p[i]) << (8 * i);
  return v;
}
inline uint64_t getU64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

/// Writes the kHeaderSize header bytes (checksum computed here) into `p`.
void encodeHeader(const Header &h, uint8_t *p);
/// Reads the fields (no validation) from at least kHeaderSize bytes.
Header decodeHeader(const uint8_t *p);

} // namespace effc::format
