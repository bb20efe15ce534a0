# lit configuration for effc. Run through ctest (test/CMakeLists.txt) or:
#   python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv test/lit \
#       --param effc_bin_dir=build/bin
# Every test runs: no test is UNSUPPORTED for a missing prerequisite (python's
# numpy/onnx, ../shared); a missing one is a configuration error instead, and
# ctest fails the run on any Unsupported test (test/CMakeLists.txt).
import os
import sys

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
# The interpreter running lit (CMake's Python3_EXECUTABLE under ctest) runs the
# tests' scripts too, so the import check below is about the one they use.
config.substitutions.append(("%python", sys.executable))

# Tests read ../shared/models, lora, decoders and zoo (the shared
# data beside the repo).
for sub in ("models", "lora", "decoders", "zoo"):
    if not os.path.isdir(os.path.join(shared_dir, sub)):
        lit_config.fatal("%s is missing: the tests need the shared data (../shared beside the "
                         "repository, or --param shared_dir=DIR)" % os.path.join(shared_dir, sub))

# Tests that build small ONNX models and references (Inputs/*.py).
try:
    import numpy  # noqa: F401
    import onnx.helper  # noqa: F401
    import onnx.numpy_helper  # noqa: F401
    import onnx.reference  # noqa: F401
except ImportError as e:
    lit_config.fatal("%s cannot import numpy and onnx (>= 1.13, with onnx.reference): %s; "
                     "tools/setup.sh installs them" % (sys.executable, e))
