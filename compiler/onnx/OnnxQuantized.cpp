//===- OnnxQuantized.cpp - onnxruntime's quantized linears -> quant_linear -===//
//
// Import-time recipes that raise the quantized MatMul forms onnxruntime's
// quantizers write to one eff.quant_linear each, with the weight kept packed
// (repacked into the op's n_kblocks layout where the source differs, never
// dequantized):
//   com.microsoft MatMulNBits (4/8 bits, [N, k_blocks, blob] as is)
//   com.microsoft MatMulBnb4 (NF4/FP4, the flat bitsandbytes layout as is)
//   DequantizeLinear(constant int4/uint4/int8/uint8 W [K, N]) -> MatMul B
//   DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(a_scale * w_scale)
// With --remarks each raise says what it found and the packed weight size.
// Variants without a recipe fail naming the node and the attribute or input.
//
#include "compiler/onnx/OnnxAttributes.h"
#include "compiler/onnx/OnnxInternal.h"
#include "compiler/onnx/OnnxTensors.h"
#include "dialects/eff/EffOps.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;

namespace effc::onnx_import {
namespace {

constexpr int32_t kOnnxUint4 = 21, kOnnxInt4 = 22;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool isDefaultDomain(const onnx::NodeProto &n) {
  return n.domain().empty() || n.domain() == "ai.onnx";
}

float halfBitsToFloat(uint16_t bits, const llvm::fltSemantics &sem) {
  llvm::APFloat v(sem, llvm::APInt(16, bits));
  bool lost;
  v.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven, &lost);
  return v.convertToFloat();
}

std::string kib(int64_t bytes) { return llvm::formatv("{0:F1} KiB", double(bytes) / 1024).str(); }

} // namespace

/// A constant as plain numbers: integer codes (int8/uint8/int4/uint4) or
/// float values (f32/f16/bf16), with its shape.
struct ConstNumbers {
  llvm::SmallVector<int64_t> shape;
  std::vector<int32_t> ints;
  std::vector<float> floats;
  bool isSigned = false; // int8/int4
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// Reads the numbers of a constant value; false when it is not one.
static bool readConstant(Value v, ConstNumbers &out) {
  auto c = v ? v.getDefiningOp<eff::ConstantOp>() : eff::ConstantOp();
  if (!c)
    return false;
  ElementsAttr attr = c.getValue();
  std::vector<char> bytes;
  if (!eff::getElementsBytes(attr, bytes))
    return false;
  auto type = cast<ShapedType>(attr.getType());
  out.shape.assign(type.getShape().begin(), type.getShape().end());
  Type elt = type.getElementType();
  size_t n = size_t(out.numel());
  if (elt.isInteger(8)) {
    out.isSigned = !elt.isUnsignedInteger();
    out.ints.resize(n);
    for (size_t i = 0; i < n; ++i)
      out.ints[i] = out.isSigned ? int32_t(int8_t(bytes[i])) : int32_t(uint8_t(bytes[i]));
    return true;
  }
  if (elt.isF32() || elt.isF16() || elt.isBF16()) {
    out.floats.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (elt.isF32()) {
        std::memcpy(&out.floats[i], bytes.data() + 4 * i, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        out.floats[i] =
            halfBitsToFloat(h, elt.isF16() ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat());
      }
    }
    return true;
  }
  return false;
}

LogicalResult GraphImporter::readPackedInt4(const onnx::TensorProto &t, ConstNumbers &out) {
  out.isSigned = t.data_type() == kOnnxInt4;
  out.shape.assign(t.dims().begin(), t.dims().end());
  int64_t n = out.numel();
  std::vector<char> bytes;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location, message;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &e : t.external_data()) {
      if (e.key() == "location")
        location = e.value();
      else if ((e.key() == "offset" || e.key() == "length") &&
               llvm::StringRef(e.value()).getAsInteger(10, e.key() == "offset" ? offset : length))
        return error() << "initializer '" << t.name() << "': external data " << e.key() << " '"
                       << e.value() << "' is not a number";
    }
    if (!externalData->read(externalDir, location, offset, length, bytes, message))
      return error() << "initializer '" << t.name() << "': " << message;
  } else if (t.has_raw_data()) {
    bytes.assign(t.raw_data().begin(), t.raw_data().end());
  } else {
    // int32_data holds one packed byte (two codes) per entry.
    for (int32_t v : t.int32_data())
      bytes.push_back(char(uint8_t(v)));
  }
  if (int64_t(bytes.size()) != ceilDiv(n, 2))
    return error() << "initializer '" << t.name() << "' (" << onnxDataTypeName(t.data_type())
                   << ") has " << bytes.size() << " bytes, expected " << ceilDiv(n, 2) << " for "
                   << n << " codes";
  out.ints.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    int32_t nibble = (uint8_t(bytes[size_t(i / 2)]) >> (4 * (i % 2))) & 0xF;
    out.ints[size_t(i)] = out.isSigned && nibble >= 8 ? nibble - 16 : nibble;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Building eff.quant_linear
//===----------------------------------------------------------------------===//

/// The packed operands of an n_kblocks quant_linear, from W given as
/// code(k, n) (unsigned: signed sources are shifted by 2^(bits-1), zero
/// points with them) and per-(block, n) scales and zero points.
struct NBlocksWeight {
  int64_t K = 0, N = 0, blockSize = 0, bits = 0;
  std::vector<char> packed;  // [N, blocks, blockSize * bits / 8]
  std::vector<float> scales; // [N, blocks]
  std::vector<char> zeros;   // [N, blocks], empty: the default 2^(bits-1)
  int64_t blocks() const { return ceilDiv(K, blockSize); }

  void init(int64_t k, int64_t n, int64_t bs, int64_t b, bool withZeros) {
    K = k;
    N = n;
    blockSize = bs;
    bits = b;
    packed.assign(size_t(N * blocks() * (bs * bits / 8)), 0);
    scales.assign(size_t(N * blocks()), 0.0f);
    if (withZeros)
      zeros.assign(size_t(N * blocks()), 0);
  }
  void setCode(int64_t k, int64_t n, int32_t code) {
    int64_t b = k / blockSize, j = k % blockSize;
    size_t base = size_t((n * blocks() + b) * (blockSize * bits / 8));
    if (bits == 8)
      packed[base + size_t(j)] = char(uint8_t(code));
    else
      packed[base + size_t(j / 2)] |= char(uint8_t((code & 0xF) << (4 * (j % 2))));
  }
};

Value GraphImporter::emitQuantLinear(Value a, eff::QuantScheme scheme, eff::QuantLayout layout,
                                     int64_t K, int64_t N, int64_t blockSize, Value weight,
                                     Value scales, Value zeroPoints) {
  NamedAttrList attrs;
  attrs.set("scheme", eff::QuantSchemeAttr::get(&ctx, scheme));
  attrs.set("layout", eff::QuantLayoutAttr::get(&ctx, layout));
  attrs.set("K", builder.getI64IntegerAttr(K));
  attrs.set("N", builder.getI64IntegerAttr(N));
  attrs.set("block_size", builder.getI64IntegerAttr(blockSize));
  SmallVector<Value> operands{a, weight, scales};
  if (zeroPoints)
    operands.push_back(zeroPoints);
  FailureOr<Value> y = emitOp1<eff::QuantLinearOp>(operands, attrs.getAttrs());
  return succeeded(y) ? *y : Value();
}

Value GraphImporter::bytesConstant(ArrayRef<int64_t> shape, Type elt, ArrayRef<char> bytes,
                                   StringRef name) {
  auto type = RankedTensorType::get(shape, elt);
  return constant(eff::makeElementsAttr(type, bytes, name));
}

Value GraphImporter::emitNBlocks(Value a, eff::QuantScheme scheme, const NBlocksWeight &w,
                                 StringRef name) {
  Type u8 = builder.getIntegerType(8, /*isSigned=*/false);
  int64_t blocks = w.blocks();
  Value weight = bytesConstant({w.N, blocks, w.blockSize * w.bits / 8}, u8, w.packed,
                               (name + "_packed").str());
  Value scales = bytesConstant(
      {w.N, blocks}, builder.getF32Type(),
      ArrayRef<char>(reinterpret_cast<const char *>(w.scales.data()), w.scales.size() * 4),
      (name + "_scales").str());
  Value zeros;
  if (!w.zeros.empty())
    zeros = bytesConstant({w.N, blocks}, u8, w.zeros, (name + "_zero_points").str());
  return emitQuantLinear(a, scheme, eff::QuantLayout::NBlocks, w.K, w.N, w.blockSize, weight,
                         scales, zeros);
}

void GraphImporter::remarkRaised(const std::string &what, int64_t K, int64_t N,
                                 int64_t packedBytes) {
  if (options.remarks)
    mlir::emitRemark(nodeLoc) << "raised " << what << " to eff.quant_linear: weight [" << K << ", "
                              << N << "] packed in " << kib(packedBytes) << " (" << kib(K * N * 4)
                              << " as fp32)";
}

//===----------------------------------------------------------------------===//
// com.microsoft MatMulNBits, MatMulBnb4
//===----------------------------------------------------------------------===//

static int64_t intAttrOr(const NamedAttrList &attrs, StringRef name, int64_t dflt) {
  if (auto a = dyn_cast_or_null<IntegerAttr>(attrs.get(name)))
    return a.getInt();
  return dflt;
}

LogicalResult GraphImporter::convertMatMulNBits(ArrayRef<Value> inputs, NamedAttrList &attrs) {
  for (StringRef required : {"K", "N", "block_size"})
    if (!attrs.get(required))
      return error() << "attribute '" << required << "' is required";
  int64_t K = intAttrOr(attrs, "K", 0), N = intAttrOr(attrs, "N", 0),
          bits = intAttrOr(attrs, "bits", 4), bs = intAttrOr(attrs, "block_size", 0);
  if (bits != 4 && bits != 8)
    return error() << "attribute 'bits' = " << bits << " is not supported (4 and 8 are)";
  if (int64_t prepacked = intAttrOr(attrs, "weight_prepacked", 0); prepacked != 0)
    return error() << "attribute 'weight_prepacked' = " << prepacked
                   << " is not supported: the weight is in an execution provider's private "
                      "layout (only 0, the raw layout, is)";
  if (K <= 0 || N <= 0 || bs < 16 || (bs & (bs - 1)) != 0)
    return error() << "attributes K = " << K << ", N = " << N << ", block_size = " << bs
                   << " are invalid (block_size must be a power of 2 >= 16)";
  for (const NamedAttribute &a : attrs)
    if (!llvm::is_contained({"K", "N", "bits", "block_size", "accuracy_level", "weight_prepacked"},
                            a.getName().strref()))
      return error() << "attribute '" << a.getName().strref() << "' is not supported";
  if (inputs.size() < 3 || !inputs[0] || !inputs[1] || !inputs[2])
    return error() << "needs inputs A, B and scales";
  if (inputs.size() > 6)
    return error() << "has " << inputs.size()
                   << " inputs; MatMulNBits takes at most 6 (A, B, scales, zero_points, g_idx, "
                      "bias)";
  if (inputs.size() > 4 && inputs[4])
    return error() << "input 'g_idx' (#4) is not supported (deprecated act-order index)";
  int64_t blocks = ceilDiv(K, bs), blob = bs * bits / 8;
  ConstNumbers b, scales, zeros;
  if (!readConstant(inputs[1], b) || b.isSigned)
    return error() << "input 'B' must be a constant uint8 tensor";
  if (b.numel() != N * blocks * blob)
    return error() << "input 'B' has " << b.numel() << " bytes, expected [N, k_blocks, blob] = ["
                   << N << ", " << blocks << ", " << blob << "]";
  if (!readConstant(inputs[2], scales) || scales.floats.empty() || scales.numel() != N * blocks)
    return error() << "input 'scales' must be a constant float tensor of N * k_blocks = "
                   << N * blocks << " values";
  bool hasZeros = inputs.size() > 3 && inputs[3];
  if (hasZeros) {
    if (!readConstant(inputs[3], zeros) || zeros.ints.empty() || zeros.isSigned)
      return error() << "input 'zero_points' must be a constant uint8 tensor (float zero "
                        "points are not supported)";
    int64_t perRow = ceilDiv(blocks * bits, 8);
    if (zeros.numel() != N * perRow)
      return error() << "input 'zero_points' has " << zeros.numel()
                     << " bytes, expected [N, ceil(k_blocks * bits / 8)] = [" << N << ", " << perRow
                     << "]";
  }
  NBlocksWeight w;
  w.init(K, N, bs, bits, hasZeros);
  for (size_t i = 0; i < w.packed.size(); ++i)
    w.packed[i] = char(uint8_t(b.ints[i]));
  w.scales = scales.floats;
  if (hasZeros) {
    int64_t perRow = ceilDiv(blocks * bits, 8);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        int32_t byte = zeros.ints[size_t(n * perRow + (bits == 8 ? blk : blk / 2))];
        w.zeros[size_t(n * blocks + blk)] =
            char(uint8_t(bits == 8 ? byte : (byte >> (4 * (blk % 2))) & 0xF));
      }
  }
  Value y = emitNBlocks(inputs[0], bits == 4 ? eff::QuantScheme::Int4 : eff::QuantScheme::Int8, w,
                        node->input(1));
  if (!y)
    return failure();
  if (inputs.size() > 5 && inputs[5]) {
    FailureOr<Value> biased = emitOp1<eff::AddOp>({y, inputs[5]});
    if (failed(biased))
      return failure();
    y = *biased;
  }
  remarkRaised(llvm::formatv("MatMulNBits ({0}-bit, block {1}{2})", bits, bs,
                             hasZeros ? ", zero points" : "")
                   .str(),
               K, N, int64_t(w.packed.size()));
  return bindOutputs({y});
}

LogicalResult GraphImporter::convertMatMulBnb4(ArrayRef<Value> inputs, NamedAttrList &attrs) {
  for (StringRef required : {"K", "N", "block_size", "quant_type"})
    if (!attrs.get(required))
      return error() << "attribute '" << required << "' is required";
  int64_t K = intAttrOr(attrs, "K", 0), N = intAttrOr(attrs, "N", 0),
          bs = intAttrOr(attrs, "block_size", 0), quantType = intAttrOr(attrs, "quant_type", -1);
  if (quantType != 0 && quantType != 1)
    return error() << "attribute 'quant_type' = " << quantType
                   << " is not supported (0 = FP4, 1 = NF4)";
  if (int64_t transB = intAttrOr(attrs, "transB", 1); transB != 1)
    return error() << "attribute 'transB' = " << transB << " is not supported (only 1)";
  if (int64_t training = intAttrOr(attrs, "training_mode", 0); training != 0)
    return error() << "attribute 'training_mode' = " << training << " is not supported";
  if (K <= 0 || N <= 0 || bs < 16 || (bs & (bs - 1)) != 0)
    return error() << "attributes K = " << K << ", N = " << N << ", block_size = " << bs
                   << " are invalid (block_size must be a power of 2 >= 16)";
  if (inputs.size() != 3 || !inputs[0] || !inputs[1] || !inputs[2])
    return error() << "needs inputs A, B and absmax";
  ConstNumbers b, absmax;
  if (!readConstant(inputs[1], b) || b.isSigned || b.numel() != ceilDiv(N * K, 2))
    return error() << "input 'B' must be a constant uint8 tensor of (N * K + 1) / 2 = "
                   << ceilDiv(N * K, 2) << " bytes";
  if (!readConstant(inputs[2], absmax) || absmax.floats.empty() ||
      absmax.numel() != ceilDiv(N * K, bs))
    return error() << "input 'absmax' must be a constant float tensor of " << ceilDiv(N * K, bs)
                   << " values";
  // Both already are in the op's bnb_flat layout: the same bytes, 1-D.
  Type u8 = builder.getIntegerType(8, /*isSigned=*/false);
  std::vector<char> packed(b.ints.begin(), b.ints.end());
  Value weight = bytesConstant({ceilDiv(N * K, 2)}, u8, packed, node->input(1) + "_packed");
  Value scales = bytesConstant({ceilDiv(N * K, bs)}, builder.getF32Type(),
                               ArrayRef<char>(reinterpret_cast<const char *>(absmax.floats.data()),
                                              absmax.floats.size() * 4),
                               node->input(2) + "_absmax");
  eff::QuantScheme scheme = quantType == 1 ? eff::QuantScheme::NF4 : eff::QuantScheme::FP4;
  Value y = emitQuantLinear(inputs[0], scheme, eff::QuantLayout::BnbFlat, K, N, bs, weight, scales,
                            Value());
  if (!y)
    return failure();
  remarkRaised(
      llvm::formatv("MatMulBnb4 ({0}, block {1})", quantType == 1 ? "nf4" : "fp4", bs).str(), K, N,
      int64_t(packed.size()));
  return bindOutputs({y});
}

//===----------------------------------------------------------------------===//
// DequantizeLinear -> MatMul
//===----------------------------------------------------------------------===//

/// A DequantizeLinear's weight codes: a packed int4 initializer or an int8
/// constant already imported.
LogicalResult GraphImporter::dequantizeCodes(const PendingDequantize &dq, ConstNumbers &codes) {
  if (auto it = packedInitializers.find(dq.x); it != packedInitializers.end())
    return readPackedInt4(*it->second, codes);
  auto v = values.find(dq.x);
  if (v == values.end() || !readConstant(v->second, codes) || codes.ints.empty())
    return error() << "the weight '" << dq.x << "' of " << dq.nodeDesc
                   << " must be a constant int8/uint8/int4/uint4 tensor";
  return success();
}

LogicalResult GraphImporter::convertDequantizedMatMul(ArrayRef<Value> inputs,
                                                      PendingDequantize &dq) {
  if (!inputs[0])
    return error() << "input 'A' is missing";
  if (!dq.built) {
    ConstNumbers x, scale, zero;
    if (failed(dequantizeCodes(dq, x)))
      return failure();
    bool four = dq.fourBit;
    if (x.shape.size() != 2)
      return error() << "the DequantizeLinear weight '" << dq.x << "' must be 2-D [K, N], got rank "
                     << x.shape.size();
    int64_t K = x.shape[0], N = x.shape[1];
    if (!readConstant(dq.scale, scale) || scale.floats.empty())
      return error() << "the scale of " << dq.nodeDesc << " must be a constant float tensor";
    bool hasZero = dq.hasZero;
    if (hasZero) {
      auto it = packedInitializers.find(dq.zeroName);
      if (it != packedInitializers.end() ? failed(readPackedInt4(*it->second, zero))
                                         : (!readConstant(dq.zeroPoint, zero) || zero.ints.empty()))
        return error() << "the zero point of " << dq.nodeDesc << " must be a constant";
      if (zero.isSigned != x.isSigned)
        return error() << "the zero point of " << dq.nodeDesc << " differs in type from the weight";
    }
    // Granularity from the scale's shape (DequantizeLinear-21).
    int64_t bs;
    std::function<int64_t(int64_t, int64_t)> scaleIndex; // (block, n) -> scale element
    if (scale.numel() == 1 && scale.shape.size() <= 1 && dq.blockSize == 0) {
      bs = K; // per tensor
      scaleIndex = [](int64_t, int64_t) { return int64_t(0); };
    } else if (scale.shape.size() == 1 && dq.blockSize == 0) {
      if (dq.axis != 1 && dq.axis != -1)
        return error() << "attribute 'axis' = " << dq.axis << " of " << dq.nodeDesc
                       << ": a per-axis weight scale must run along N (axis 1); per-K scales "
                          "are not supported";
      if (scale.shape[0] != N)
        return error() << "the per-axis scale of " << dq.nodeDesc << " has " << scale.shape[0]
                       << " values, expected N = " << N;
      bs = K;
      scaleIndex = [](int64_t, int64_t n) { return n; };
    } else if (dq.blockSize > 0) {
      if (dq.axis != 0)
        return error() << "attribute 'axis' = " << dq.axis << " of " << dq.nodeDesc
                       << ": blocked weights must be blocked along K (axis 0)";
      bs = dq.blockSize;
      if (scale.shape != llvm::SmallVector<int64_t>{ceilDiv(K, bs), N})
        return error() << "the blocked scale of " << dq.nodeDesc << " must be [ceil(K / "
                       << "block_size), N] = [" << ceilDiv(K, bs) << ", " << N << "]";
      scaleIndex = [N](int64_t blk, int64_t n) { return blk * N + n; };
    } else {
      return error() << "the scale of " << dq.nodeDesc << " has an unsupported shape";
    }
    if (hasZero && zero.numel() != scale.numel())
      return error() << "the zero point of " << dq.nodeDesc << " must have the scale's shape";
    if (four && bs % 2 != 0)
      bs += bs % 2; // one block per column (per tensor/axis): pad it to whole bytes
    int64_t bits = four ? 4 : 8, shift = x.isSigned ? (four ? 8 : 128) : 0;
    // Unsigned codes without a zero point have zero point 0, not the default.
    bool storeZeros = hasZero || !x.isSigned;
    NBlocksWeight w;
    w.init(K, N, bs, bits, storeZeros);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n)
        w.setCode(k, n, x.ints[size_t(k * N + n)] + int32_t(shift));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t blk = 0; blk < w.blocks(); ++blk) {
        int64_t s = scaleIndex(blk, n);
        w.scales[size_t(n * w.blocks() + blk)] = scale.floats[size_t(s)];
        if (storeZeros)
          w.zeros[size_t(n * w.blocks() + blk)] =
              char(uint8_t((hasZero ? zero.ints[size_t(s)] : 0) + int32_t(shift)));
      }
    dq.scheme = four ? eff::QuantScheme::Int4 : eff::QuantScheme::Int8;
    dq.K = K;
    dq.N = N;
    dq.blockSizeUsed = bs;
    dq.packedBytes = int64_t(w.packed.size());
    Type u8 = builder.getIntegerType(8, /*isSigned=*/false);
    // Built once: MatMuls that share the weight (tied) share the constants.
    dq.weight = bytesConstant({N, w.blocks(), bs * bits / 8}, u8, w.packed, dq.x + "_packed");
    dq.scales = bytesConstant(
        {N, w.blocks()}, builder.getF32Type(),
        ArrayRef<char>(reinterpret_cast<const char *>(w.scales.data()), w.scales.size() * 4),
        dq.x + "_scales");
    if (storeZeros)
      dq.zeros = bytesConstant({N, w.blocks()}, u8, w.zeros, dq.x + "_zero_points");
    dq.built = true;
  }
  Value y = emitQuantLinear(inputs[0], dq.scheme, eff::QuantLayout::NBlocks, dq.K, dq.N,
                            dq.blockSizeUsed, dq.weight, dq.scales, dq.zeros);
  if (!y)
    return failure();
  remarkRaised(llvm::formatv("DequantizeLinear ({0}, {1}) -> MatMul", dq.typeName,
                             dq.blockSize > 0
                                 ? "block " + std::to_string(dq.blockSize)
                                 : std::string(dq.blockSizeUsed >= dq.K ? "per tensor/column" : ""))
                   .str(),
               dq.K, dq.N, dq.packedBytes);
  return bindOutputs({y});
}

/// A DequantizeLinear whose every consumer is a MatMul's B becomes pending
/// (its MatMuls build the quant_linear): true. An int4 one that is not is an
/// error; for others false: they import as elementwise math
/// (dequantizeElementwise).
FailureOr<bool> GraphImporter::convertDequantizeLinear(int index, NamedAttrList &attrs) {
  const onnx::NodeProto &n = *node;
  PendingDequantize dq;
  dq.node = index;
  dq.nodeDesc = nodeDesc;
  dq.x = n.input(0);
  dq.axis = intAttrOr(attrs, "axis", 1);
  dq.blockSize = intAttrOr(attrs, "block_size", 0);
  auto packed = packedInitializers.find(dq.x);
  dq.fourBit = packed != packedInitializers.end();
  dq.typeName = dq.fourBit ? (packed->second->data_type() == kOnnxInt4 ? "int4" : "uint4") : "";
  bool allMatMulB =
      n.output_size() == 1 && consumers.count(n.output(0)) && !graphOutputs.contains(n.output(0));
  if (allMatMulB)
    for (auto [user, slot] : consumers[n.output(0)]) {
      const onnx::NodeProto &u = model.graph().node(user);
      allMatMulB &= isDefaultDomain(u) && u.op_type() == "MatMul" && slot == 1;
    }
  auto input = [&](int i) -> Value {
    if (i >= n.input_size() || n.input(i).empty())
      return Value();
    auto it = values.find(n.input(i));
    return it == values.end() ? Value() : it->second;
  };
  if (!dq.fourBit) {
    auto it = values.find(dq.x);
    ConstNumbers probe;
    bool constantCodes = it != values.end() && readConstant(it->second, probe) &&
                         !probe.ints.empty() && probe.shape.size() == 2;
    allMatMulB &= constantCodes;
    if (constantCodes)
      dq.typeName = probe.isSigned ? "int8" : "uint8";
  }
  if (!allMatMulB) {
    if (dq.fourBit)
      return error() << "the int4/uint4 weight '" << dq.x
                     << "' is supported only as a constant MatMul weight (input B); output '"
                     << n.output(0) << "' has other readers";
    return false;
  }
  if (n.input_size() < 2 || !input(1))
    return error() << "input 'x_scale' is missing";
  dq.scale = input(1);
  if (n.input_size() > 2 && !n.input(2).empty()) {
    dq.hasZero = true;
    dq.zeroName = n.input(2);
    dq.zeroPoint = input(2);
    if (!dq.zeroPoint && !packedInitializers.count(dq.zeroName))
      return error() << "input 'x_zero_point' is not a constant";
  }
  for (const NamedAttribute &a : attrs)
    if (!llvm::is_contained({"axis", "block_size"}, a.getName().strref()))
      return error() << "attribute '" << a.getName().strref() << "' is not supported";
  pendingDequantize[n.output(0)] = std::move(dq);
  return true;
}

/// y = (x - zero_point) * scale with eff ops (folded when x is constant):
/// per-tensor and per-axis int8/uint8.
LogicalResult GraphImporter::dequantizeElementwise(ArrayRef<Value> inputs, NamedAttrList &attrs) {
  if (intAttrOr(attrs, "block_size", 0) != 0)
    return error() << "attribute 'block_size' = " << intAttrOr(attrs, "block_size", 0)
                   << ": blocked DequantizeLinear is supported only on a constant MatMul weight";
  if (inputs.size() < 2 || !inputs[0] || !inputs[1])
    return error() << "needs inputs x and x_scale";
  auto x = dyn_cast<RankedTensorType>(inputs[0].getType());
  auto scale = dyn_cast<RankedTensorType>(inputs[1].getType());
  if (!x || !scale || !x.getElementType().isInteger(8))
    return error() << "only int8/uint8 inputs are supported";
  int64_t axis = intAttrOr(attrs, "axis", 1);
  Type f = scale.getElementType();
  auto reshapeAlong = [&](Value v) -> FailureOr<Value> {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() == 0)
      return v;
    if (t.getRank() != 1)
      return error() << "x_scale must be a scalar or 1-D (per axis)";
    int64_t a = axis < 0 ? axis + x.getRank() : axis;
    SmallVector<int64_t> shape(size_t(x.getRank() - a), 1);
    shape[0] = t.getDimSize(0);
    return emitOp1<eff::ReshapeOp>({v, constI64(shape)});
  };
  FailureOr<Value> xf = emitOp1<eff::CastOp>(
      {inputs[0]}, {builder.getNamedAttr(
                       "to", builder.getI64IntegerAttr(f.isF16() ? 10 : (f.isBF16() ? 16 : 1)))});
  if (failed(xf))
    return failure();
  Value y = *xf;
  if (inputs.size() > 2 && inputs[2]) {
    FailureOr<Value> zf = emitOp1<eff::CastOp>(
        {inputs[2]}, {builder.getNamedAttr(
                         "to", builder.getI64IntegerAttr(f.isF16() ? 10 : (f.isBF16() ? 16 : 1)))});
    if (failed(zf))
      return failure();
    FailureOr<Value> z = reshapeAlong(*zf);
    FailureOr<Value> sub = failed(z) ? FailureOr<Value>(failure()) : emitOp1<eff::SubOp>({y, *z});
    if (failed(sub))
      return failure();
    y = *sub;
  }
  FailureOr<Value> s = reshapeAlong(inputs[1]);
  FailureOr<Value> mul = failed(s) ? FailureOr<Value>(failure()) : emitOp1<eff::MulOp>({y, *s});
  if (failed(mul))
    return failure();
  if (options.remarks)
    mlir::emitRemark(nodeLoc) << "DequantizeLinear of '" << node->input(0)
                              << "' is not a MatMul weight: imported as (x - zero_point) * scale";
  return bindOutputs({*mul});
}

//===----------------------------------------------------------------------===//
// DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul
//===----------------------------------------------------------------------===//

void GraphImporter::planQuantizedLinears() {
  const onnx::GraphProto &graph = model.graph();
  llvm::StringMap<int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &n = graph.node(i);
    for (int s = 0; s < n.input_size(); ++s)
      if (!n.input(s).empty())
        consumers[n.input(s)].push_back({i, s});
    for (const std::string &o : n.output())
      producer[o] = i;
  }
  for (const onnx::ValueInfoProto &out : graph.output())
    graphOutputs.insert(out.name());
  auto only = [&](const std::string &name) -> int {
    auto it = consumers.find(name);
    if (it == consumers.end() || it->second.size() != 1 || graphOutputs.contains(name))
      return -1;
    return it->second.front().first;
  };
  auto producedBy = [&](const std::string &name, StringRef op) -> int {
    auto it = producer.find(name);
    if (it == producer.end())
      return -1;
    const onnx::NodeProto &p = graph.node(it->second);
    return isDefaultDomain(p) && p.op_type() == op ? it->second : -1;
  };
  for (int m = 0; m < graph.node_size(); ++m) {
    const onnx::NodeProto &mm = graph.node(m);
    if (!isDefaultDomain(mm) || mm.op_type() != "MatMulInteger")
      continue;
    DynamicLinear d;
    d.matmul = m;
    auto fail = [&](std::string why) { dynamicMismatch[m] = std::move(why); };
    d.quantize = mm.input_size() >= 3 ? producedBy(mm.input(0), "DynamicQuantizeLinear") : -1;
    if (d.quantize < 0 || graph.node(d.quantize).output(0) != mm.input(0) ||
        graph.node(d.quantize).output_size() < 3 ||
        graph.node(d.quantize).output(2) != mm.input(2)) {
      fail("input A must be DynamicQuantizeLinear's output with its zero point as a_zero_point");
      continue;
    }
    d.cast = only(mm.output(0));
    const onnx::NodeProto *cast = d.cast >= 0 ? &graph.node(d.cast) : nullptr;
    if (!cast || cast->op_type() != "Cast") {
      fail("its output must feed exactly one Cast");
      continue;
    }
    d.output = only(cast->output(0));
    const onnx::NodeProto *mul = d.output >= 0 ? &graph.node(d.output) : nullptr;
    if (!mul || mul->op_type() != "Mul" || mul->input_size() != 2) {
      fail("its Cast must feed exactly one Mul (the scale)");
      continue;
    }
    const std::string &scaleName = mul->input(0) == cast->output(0) ? mul->input(1) : mul->input(0);
    d.scaleMul = producedBy(scaleName, "Mul");
    const onnx::NodeProto *scaleMul = d.scaleMul >= 0 ? &graph.node(d.scaleMul) : nullptr;
    const std::string &aScale = graph.node(d.quantize).output(1);
    if (!scaleMul || (scaleMul->input(0) != aScale && scaleMul->input(1) != aScale)) {
      fail("the Mul after its Cast must scale by Mul(a_scale, w_scale)");
      continue;
    }
    d.weightScale = scaleMul->input(0) == aScale ? scaleMul->input(1) : scaleMul->input(0);
    dynamicLinears.push_back(d);
  }
  // Roles; the quantizer and the scale Mul are absorbed only when every
  // reader of their outputs is part of a matched pattern.
  llvm::DenseSet<int> matchedReaders;
  for (size_t i = 0; i < dynamicLinears.size(); ++i) {
    const DynamicLinear &d = dynamicLinears[i];
    absorbedNodes.insert(d.matmul);
    absorbedNodes.insert(d.cast);
    dynamicOutputs[d.output] = int(i);
    matchedReaders.insert(d.matmul);
    matchedReaders.insert(d.scaleMul);
    matchedReaders.insert(d.output);
  }
  for (const DynamicLinear &d : dynamicLinears)
    for (int candidate : {d.quantize, d.scaleMul}) {
      bool all = true;
      for (const std::string &o : graph.node(candidate).output()) {
        all &= !graphOutputs.contains(o);
        if (auto it = consumers.find(o); it != consumers.end())
          for (auto [user, slot] : it->second)
            all &= matchedReaders.contains(user);
      }
      if (all)
        absorbedNodes.insert(candidate);
    }
}

LogicalResult GraphImporter::convertDynamicLinear(const DynamicLinear &d) {
  const onnx::GraphProto &graph = model.graph();
  const onnx::NodeProto &q = graph.node(d.quantize), &mm = graph.node(d.matmul);
  auto valueOf = [&](const std::string &name) -> Value {
    auto it = values.find(name);
    return it == values.end() ? Value() : it->second;
  };
  Value a = valueOf(q.input(0));
  if (!a)
    return error() << "the input of DynamicQuantizeLinear is not defined";
  ConstNumbers w, wZero, wScale;
  if (!readConstant(valueOf(mm.input(1)), w) || w.ints.empty() || w.shape.size() != 2)
    return error() << "MatMulInteger's B ('" << mm.input(1)
                   << "') must be a constant 2-D int8/uint8 tensor";
  int64_t K = w.shape[0], N = w.shape[1];
  bool hasZero = mm.input_size() > 3 && !mm.input(3).empty();
  if (hasZero && (!readConstant(valueOf(mm.input(3)), wZero) || wZero.ints.empty() ||
                  (wZero.numel() != 1 && wZero.numel() != N)))
    return error() << "MatMulInteger's b_zero_point must be a constant scalar or [N]";
  if (!readConstant(valueOf(d.weightScale), wScale) || wScale.floats.empty() ||
      (wScale.numel() != 1 && wScale.numel() != N))
    return error() << "the weight scale '" << d.weightScale
                   << "' must be a constant float scalar or [N]";
  int32_t shift = w.isSigned ? 128 : 0;
  NBlocksWeight packed;
  packed.init(K, N, K, 8, /*withZeros=*/true);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      packed.setCode(k, n, w.ints[size_t(k * N + n)] + shift);
  for (int64_t n = 0; n < N; ++n) {
    packed.scales[size_t(n)] = wScale.floats[size_t(wScale.numel() == 1 ? 0 : n)];
    int32_t zero = hasZero ? wZero.ints[size_t(wZero.numel() == 1 ? 0 : n)] : 0;
    packed.zeros[size_t(n)] = char(uint8_t(zero + shift));
  }
  Value y = emitNBlocks(a, eff::QuantScheme::DynamicInt8, packed, mm.input(1));
  if (!y)
    return failure();
  remarkRaised(llvm::formatv("DynamicQuantizeLinear -> MatMulInteger ({0} weight, node '{1}') "
                             "-> Cast -> Mul",
                             w.isSigned ? "int8" : "uint8", mm.name())
                   .str(),
               K, N, int64_t(packed.packed.size()));
  return bindOutputs({y});
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

std::optional<LogicalResult> GraphImporter::importQuantizedNode(int index, NamedAttrList &attrs) {
  const onnx::NodeProto &n = *node;
  if (absorbedNodes.contains(index))
    return success(); // computed by the quant_linear of its pattern
  if (auto it = dynamicOutputs.find(index); it != dynamicOutputs.end())
    return convertDynamicLinear(dynamicLinears[size_t(it->second)]);
  auto inputsOf = [&](SmallVectorImpl<Value> &inputs) -> LogicalResult {
    for (const std::string &in : n.input()) {
      if (in.empty()) {
        inputs.push_back(Value());
        continue;
      }
      auto it = values.find(in);
      if (it == values.end())
        return error() << "input '" << in << "' is not defined";
      inputs.push_back(it->second);
    }
    return success();
  };
  if (n.domain() == "com.microsoft" &&
      (n.op_type() == "MatMulNBits" || n.op_type() == "MatMulBnb4")) {
    SmallVector<Value> inputs;
    if (failed(inputsOf(inputs)))
      return failure();
    return n.op_type() == "MatMulNBits" ? convertMatMulNBits(inputs, attrs)
                                        : convertMatMulBnb4(inputs, attrs);
  }
  if (!isDefaultDomain(n))
    return std::nullopt;
  if (n.op_type() == "MatMulInteger")
    return error() << "MatMulInteger is supported only in onnxruntime's dynamic quantization "
                      "pattern (DynamicQuantizeLinear -> MatMulInteger -> Cast -> "
                      "Mul(a_scale * w_scale)): "
                   << dynamicMismatch.lookup(index);
  if (n.op_type() == "DequantizeLinear") {
    if (n.input_size() < 1)
      return error() << "input 'x' is missing";
    FailureOr<bool> pending = convertDequantizeLinear(index, attrs);
    if (failed(pending) || *pending)
      return LogicalResult(success(succeeded(pending)));
    SmallVector<Value> inputs;
    if (failed(inputsOf(inputs)))
      return failure();
    return dequantizeElementwise(inputs, attrs);
  }
  if (n.op_type() == "MatMul" && n.input_size() == 2) {
    auto it = pendingDequantize.find(n.input(1));
    if (it == pendingDequantize.end())
      return std::nullopt;
    SmallVector<Value> inputs;
    auto a = values.find(n.input(0));
    inputs.push_back(a == values.end() ? Value() : a->second);
    return convertDequantizedMatMul(inputs, it->second);
  }
  return std::nullopt;
}

std::optional<LogicalResult> GraphImporter::importQuantizedNodeWithAttrs(const onnx::NodeProto &n,
                                                                         int index) {
  static const llvm::StringSet<> kOps = {
      "MatMulNBits", "MatMulBnb4", "MatMulInteger", "DequantizeLinear",
      "MatMul",      "Cast",       "Mul",           "DynamicQuantizeLinear"};
  if (!kOps.contains(n.op_type()) && !absorbedNodes.contains(index))
    return std::nullopt;
  NamedAttrList attrs;
  for (const onnx::AttributeProto &a : n.attribute()) {
    std::string message;
    Attribute converted = convertOnnxAttribute(ctx, a, externalDir, message);
    if (!converted)
      return LogicalResult(error() << message);
    attrs.set(a.name(), converted);
  }
  return importQuantizedNode(index, attrs);
}

} // namespace effc::onnx_import
