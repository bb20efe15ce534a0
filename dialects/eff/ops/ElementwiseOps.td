//===- ElementwiseOps.td - unary, binary and ternary elementwise ops ----------===//
// Binary and ternary ops broadcast multidirectionally (numpy rules, as ONNX).
#ifndef EFF_ELEMENTWISE_OPS_TD
#define EFF_ELEMENTWISE_OPS_TD

// Every op of this file is elementwise (Eff_Elementwise): the fusion passes
// ask the trait, not a list of names.
class Eff_ElementwiseOp<string mnemonic, list<Trait> traits = []>
    : Eff_Op<mnemonic, !listconcat(traits, [Eff_Elementwise])> {
  let cudaFamily = "Elementwise";
}

// Result: same type as the operand.
class Eff_UnaryOp<string mnemonic, Type operandType, list<Trait> traits = []>
    : Eff_ElementwiseOp<mnemonic, traits> {
  let arguments = (ins operandType:$x);
  let results = (outs operandType:$y);
  let extraClassDefinition = Eff_OpClassDefinition # [{
    ::llvm::LogicalResult $cppClass::inferResultTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location>, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      types.push_back(adaptor.getX().getType());
      return ::mlir::success();
    }
    ::mlir::OpFoldResult $cppClass::fold(FoldAdaptor adaptor) {
      return ::mlir::eff::foldWithHostKernel(getOperation(), adaptor.getOperands());
    }
  }];
}

// cudaScalar: the per-element CUDA expression (see Eff_Op). Integer neg/abs
// wrap around through u64 like the host kernels.
def Eff_AbsOp : Eff_UnaryOp<"abs", Eff_NumericTensor> {
  let summary = "|x|";
  let cudaScalar = [{ numericUnary([](Compute k, const std::string &x) {
    return k == Compute::I64 ? "(" + x + " < 0 ? (i64)(0ull - (u64)" + x + ") : " + x + ")"
                             : fn(k, "fabs") + "(" + x + ")";
  }) }];
}
def Eff_CosOp : Eff_UnaryOp<"cos", Eff_FloatTensor> {
  let summary = "cos(x)";
  let cudaScalar = [{ floatUnary(call("cos")) }];
}
def Eff_SinOp : Eff_UnaryOp<"sin", Eff_FloatTensor> {
  let summary = "sin(x)";
  let cudaScalar = [{ floatUnary(call("sin")) }];
}
def Eff_ErfOp : Eff_UnaryOp<"erf", Eff_FloatTensor> {
  let summary = "erf(x)";
  let cudaScalar = [{ floatUnary(call("erf")) }];
}
def Eff_ExpOp : Eff_UnaryOp<"exp", Eff_FloatTensor> {
  let summary = "e^x";
  let cudaScalar = [{ floatUnary(call("exp")) }];
}
def Eff_LogOp : Eff_UnaryOp<"log", Eff_FloatTensor> {
  let summary = "ln(x)";
  let cudaScalar = [{ floatUnary(call("log")) }];
}
def Eff_NegOp : Eff_UnaryOp<"neg", Eff_NumericTensor> {
  let summary = "-x";
  let cudaScalar = [{ numericUnary([](Compute k, const std::string &x) {
    return k == Compute::I64 ? "(i64)(0ull - (u64)" + x + ")" : "(-" + x + ")";
  }) }];
}
def Eff_NotOp : Eff_UnaryOp<"not", Eff_BoolTensor> {
  let summary = "logical not";
  let cudaScalar = [{ boolUnary([](const std::string &x) { return "(!" + x + ")"; }) }];
}
def Eff_ReciprocalOp : Eff_UnaryOp<"reciprocal", Eff_FloatTensor> {
  let summary = "1/x";
  let cudaScalar = [{ floatUnary([](Compute k, const std::string &x) {
    return "(" + one(k) + " / " + x + ")";
  }) }];
}
def Eff_ReluOp : Eff_UnaryOp<"relu", Eff_NumericTensor> {
  let summary = "max(x, 0)";
  let cudaScalar = [{ numericUnary([](Compute k, const std::string &x) {
    return "(" + x + " > " + zero(k) + " ? " + x + " : " + zero(k) + ")";
  }) }];
}
def Eff_SigmoidOp : Eff_UnaryOp<"sigmoid", Eff_FloatTensor> {
  let summary = "1/(1+e^-x)";
  let cudaScalar = [{ floatUnary(sigmoidOf) }];
}
def Eff_SqrtOp : Eff_UnaryOp<"sqrt", Eff_FloatTensor> {
  let summary = "sqrt(x)";
  let cudaScalar = [{ floatUnary(call("sqrt")) }];
}
def Eff_TanhOp : Eff_UnaryOp<"tanh", Eff_FloatTensor> {
  let summary = "tanh(x)";
  let cudaScalar = [{ floatUnary(call("tanh")) }];
}
def Eff_IdentityOp : Eff_ElementwiseOp<"identity", [Eff_View]> {
  let cudaFamily = "DataMovement";
  let cudaScalar = [{ passThrough() }];
  let summary = "y = x (folds away)";
  let arguments = (ins Eff_Tensor:$x);
  let results = (outs Eff_Tensor:$y);
}

def Eff_IsNaNOp : Eff_ElementwiseOp<"is_nan"> {
  let summary = "x != x, as bool";
  let cudaScalar = [{ floatPredicate([](const std::string &x) { return "(" + x + " != " + x + ")"; }) }];
  let arguments = (ins Eff_FloatTensor:$x);
  let results = (outs Eff_BoolTensor:$y);
}

def Eff_GeluOp : Eff_ElementwiseOp<"gelu"> {
  let summary = "GELU, exact (erf) or tanh approximation";
  let onnxSince = 20;
  let cudaScalar = [{ geluRecipe() }];
  let arguments = (ins Eff_FloatTensor:$x, Eff_DefaultStr<"\"none\"">:$approximate);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

def Eff_CastOp : Eff_ElementwiseOp<"cast"> {
  let summary = "convert element type; `to` is an ONNX TensorProto data type";
  let cudaScalar = [{ passThrough() }];
  let arguments = (ins Eff_Tensor:$input, I64Attr:$to, Eff_DefaultI64<"1">:$saturate);
  let results = (outs Eff_Tensor:$output);
}

def Eff_ClipOp : Eff_ElementwiseOp<"clip", [AttrSizedOperandSegments]> {
  let summary = "clamp to [min, max] (scalars; either may be absent)";
  let cudaScalar = [{ clipRecipe() }];
  let arguments = (ins Eff_NumericTensor:$input, Optional<Eff_NumericTensor>:$min,
                       Optional<Eff_NumericTensor>:$max);
  let results = (outs Eff_NumericTensor:$output);
  let assemblyFormat = [{
    $input (`min` $min^)? (`max` $max^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

// Binary ops with multidirectional broadcasting. Arithmetic keeps the operand
// element type; comparisons and logic produce i1.
class Eff_BinaryOp<string mnemonic, Type operandType, Type resultType, bit boolResult>
    : Eff_ElementwiseOp<mnemonic> {
  let arguments = (ins operandType:$a, operandType:$b);
  let results = (outs resultType:$c);
  let extraClassDefinition = Eff_OpClassDefinition # [{
    ::llvm::LogicalResult $cppClass::inferResultTypes(::mlir::MLIRContext *ctx,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::mlir::eff::inferBroadcastResult(ctx, loc, adaptor.getOperands(),
          /*boolResult=*/}] # !if(boolResult, "true", "false") # [{, types);
    }
    ::mlir::OpFoldResult $cppClass::fold(FoldAdaptor adaptor) {
      return ::mlir::eff::foldWithHostKernel(getOperation(), adaptor.getOperands());
    }
  }];
}

// Integer add/sub/mul wrap around; integer division is idiv64
// (elementwise.cuh: truncates, x/0 = 0, x/-1 = -x), as the host kernels do.
def Eff_AddOp : Eff_BinaryOp<"add", Eff_NumericTensor, Eff_NumericTensor, 0> {
  let summary = "a + b";
  let cudaScalar = [{ arith(wrapping("+")) }];
}
def Eff_SubOp : Eff_BinaryOp<"sub", Eff_NumericTensor, Eff_NumericTensor, 0> {
  let summary = "a - b";
  let cudaScalar = [{ arith(wrapping("-")) }];
}
def Eff_MulOp : Eff_BinaryOp<"mul", Eff_NumericTensor, Eff_NumericTensor, 0> {
  let summary = "a * b";
  let cudaScalar = [{ arith(wrapping("*")) }];
}
def Eff_DivOp : Eff_BinaryOp<"div", Eff_NumericTensor, Eff_NumericTensor, 0> {
  let summary = "a / b";
  let cudaScalar = [{ arith([](Compute k, const std::string &a, const std::string &b) {
    return k == Compute::I64 ? "idiv64(" + a + ", " + b + ")" : "(" + a + " / " + b + ")";
  }) }];
}
def Eff_EqualOp : Eff_BinaryOp<"equal", Eff_Tensor, Eff_BoolTensor, 1> {
  let summary = "a == b";
  let cudaScalar = [{ compare("==") }];
}
def Eff_GreaterOp : Eff_BinaryOp<"greater", Eff_NumericTensor, Eff_BoolTensor, 1> {
  let summary = "a > b";
  let cudaScalar = [{ compare(">") }];
}
def Eff_GreaterOrEqualOp : Eff_BinaryOp<"greater_or_equal", Eff_NumericTensor, Eff_BoolTensor, 1> {
  let summary = "a >= b";
  let cudaScalar = [{ compare(">=") }];
}
def Eff_LessOp : Eff_BinaryOp<"less", Eff_NumericTensor, Eff_BoolTensor, 1> {
  let summary = "a < b";
  let cudaScalar = [{ compare("<") }];
}
def Eff_LessOrEqualOp : Eff_BinaryOp<"less_or_equal", Eff_NumericTensor, Eff_BoolTensor, 1> {
  let summary = "a <= b";
  let cudaScalar = [{ compare("<=") }];
}
def Eff_AndOp : Eff_BinaryOp<"and", Eff_BoolTensor, Eff_BoolTensor, 1> {
  let summary = "a && b";
  let cudaScalar = [{ logic("&&") }];
}
def Eff_OrOp : Eff_BinaryOp<"or", Eff_BoolTensor, Eff_BoolTensor, 1> {
  let summary = "a || b";
  let cudaScalar = [{ logic("||") }];
}
def Eff_XorOp : Eff_BinaryOp<"xor", Eff_BoolTensor, Eff_BoolTensor, 1> {
  let summary = "a != b";
  let cudaScalar = [{ logic("!=") }];
}

// Pow may mix element types (ONNX allows an integer exponent on a float base).
def Eff_PowOp : Eff_ElementwiseOp<"pow"> {
  let summary = "a ^ b, broadcast; result has the base's element type";
  let cudaScalar = [{ powRecipe() }];
  let arguments = (ins Eff_NumericTensor:$a, Eff_NumericTensor:$b);
  let results = (outs Eff_NumericTensor:$c);
}

// Variadic max/min (ONNX Max/Min take 1..N inputs).
def Eff_MaxOp : Eff_ElementwiseOp<"max"> {
  let summary = "elementwise max of all operands, broadcast";
  let cudaScalar = [{ arith([](Compute k, const std::string &a, const std::string &b) {
    return k == Compute::I64 ? "(" + a + " > " + b + " ? " + a + " : " + b + ")"
                             : "MaxOp()(" + a + ", " + b + ")";
  }) }];
  let arguments = (ins Variadic<Eff_NumericTensor>:$inputs);
  let results = (outs Eff_NumericTensor:$output);
}
def Eff_MinOp : Eff_ElementwiseOp<"min"> {
  let summary = "elementwise min of all operands, broadcast";
  let cudaScalar = [{ arith([](Compute k, const std::string &a, const std::string &b) {
    return k == Compute::I64 ? "(" + a + " < " + b + " ? " + a + " : " + b + ")"
                             : "MinOp()(" + a + ", " + b + ")";
  }) }];
  let arguments = (ins Variadic<Eff_NumericTensor>:$inputs);
  let results = (outs Eff_NumericTensor:$output);
}

def Eff_WhereOp : Eff_ElementwiseOp<"where"> {
  let summary = "condition ? x : y, broadcast over all three";
  let cudaScalar = [{ whereRecipe() }];
  let arguments = (ins Eff_BoolTensor:$condition, Eff_Tensor:$x, Eff_Tensor:$y);
  let results = (outs Eff_Tensor:$output);
}

#endif // EFF_ELEMENTWISE_OPS_TD
