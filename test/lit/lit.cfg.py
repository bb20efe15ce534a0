# lit configuration for effc. Run through ctest (test/CMakeLists.txt) or:
#   python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv test/lit \
#       --param effc_bin_dir=build/bin
import os

import lit.formats

config.name = "effc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["Inputs", "lit.cfg.py"]

repo_root = os.path.dirname(os.path.dirname(config.test_source_root))
bin_dir = lit_config.params.get("effc_bin_dir", os.path.join(repo_root, "build", "bin"))
llvm_tools = lit_config.params.get("llvm_tools_dir", "/usr/lib/llvm-19/bin")
shared_dir = lit_config.params.get("shared_dir", os.path.join(os.path.dirname(repo_root), "shared"))

config.environment["PATH"] = os.pathsep.join([bin_dir, llvm_tools, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.substitutions.append(("%shared", shared_dir))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%python", "python3"))

if os.path.isdir(os.path.join(shared_dir, "models")):
    config.available_features.add("shared-models")
try:
    import onnx  # noqa: F401  (lit tests that build small ONNX models)
    config.available_features.add("onnx-python")
except ImportError:
    pass
