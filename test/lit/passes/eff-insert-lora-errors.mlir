// Every LoRA error is one message naming the adapter, module and option.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %inputs/make_lora_adapter.py %t/missing --module model.layers.1.self_attn.q_proj:4:4:2
// RUN: not effc-opt %s --eff-insert-lora="adapters=%t/missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: {{.*}}LoRA adapter '{{.*}}missing': module 'model.layers.1.self_attn.q_proj' has no linear op in the model

// RUN: %python %inputs/make_lora_adapter.py %t/shape --module model.layers.0.self_attn.q_proj:4:8:2
// RUN: not effc-opt %s --eff-insert-lora="adapters=%t/shape" 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: error: {{.*}}LoRA adapter '{{.*}}shape': module 'model.layers.0.self_attn.q_proj' is a 4 -> 4 linear in the model, but its lora_A is [2, 4] and lora_B [8, 2]

// RUN: %python %inputs/make_lora_adapter.py %t/target --module model.layers.0.self_attn.q_proj:4:4:2 --config '{"target_modules": ["q_proj", "gate_proj"]}'
// RUN: not effc-opt %s --eff-insert-lora="adapters=%t/target" 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: {{.*}}LoRA adapter '{{.*}}target': target_modules entry 'gate_proj' matches no linear op in the model

// RUN: %python %inputs/make_lora_adapter.py %t/dora --module model.layers.0.self_attn.q_proj:4:4:2 --config '{"use_dora": true}'
// RUN: not effc-opt %s --eff-insert-lora="adapters=%t/dora" 2>&1 | FileCheck %s --check-prefix=DORA
// DORA: error: {{.*}}dora/adapter_config.json: unsupported option 'use_dora'

// RUN: %python %inputs/make_lora_adapter.py %t/bias --module model.layers.0.self_attn.q_proj:4:4:2 --config '{"lora_bias": true}'
// RUN: not effc-opt %s --eff-insert-lora="adapters=%t/bias" 2>&1 | FileCheck %s --check-prefix=BIAS
// BIAS: error: {{.*}}bias/adapter_config.json: unsupported option 'lora_bias'

// RUN: not effc-opt %s --eff-insert-lora="adapters=%t/nowhere" 2>&1 | FileCheck %s --check-prefix=NODIR
// NODIR: error: {{.*}}nowhere

// RUN: %python %inputs/make_lora_adapter.py %t/ok --module model.layers.0.self_attn.q_proj:4:4:2
// RUN: not effc-opt %s --eff-insert-lora="adapters=a=%t/ok,b=%t/ok merge=true" 2>&1 | FileCheck %s --check-prefix=MERGE2
// MERGE2: error: --lora-merge merges exactly one adapter into the weights (got 2)
// RUN: not effc-opt %s --eff-insert-lora="adapters=a=%t/ok,%t/ok" 2>&1 | FileCheck %s --check-prefix=MIXED
// MIXED: error: --lora: name every adapter (NAME=DIR) or give a single DIR
// RUN: not effc-opt %s --eff-insert-lora="adapters=a=%t/ok,a=%t/ok" 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: --lora: adapter name 'a' is given twice

func.func @main(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %w = eff.constant {value = dense<1.0> : tensor<4x4xf32>} : tensor<4x4xf32>
  %q = eff.matmul %x, %w : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32> loc(fused<"m.model.layers.0.self_attn.q_proj">["node_q"])
  return %q : tensor<2x3x4xf32>
}
