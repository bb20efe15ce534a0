#!/usr/bin/env bash
# ctest `python`: the pytest suite of the effc Python package (test/python),
# run with the venv tools/setup.sh creates (python3 -m venv + pip install .).
#   test/python/run_pytest.sh VENV SHARED_DIR [pytest args...]
# A missing venv, an effc that does not import, or any skipped test fails
# (DEVELOPING.md, Tests). A package older than the sources it is built from
# (tools/python and the compiler, dialects, passes and runtime it links) is
# reinstalled first, incrementally, as tools/setup.sh installed it.
set -euo pipefail
venv=$(realpath -m "$1") shared=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
py=$venv/bin/python
# One run at a time per machine: a reinstall must not replace the package
# under another run's pytest (concurrent tools/test.sh runs in one tree).
exec 9>/tmp/effc-python-tests.lock
flock 9
if [ ! -x "$py" ]; then
  echo "run_pytest: no $py: tools/setup.sh creates it (python3 -m venv, pip install .)" >&2
  exit 1
fi
if ! "$py" -c "import effc, numpy, onnx, pytest"; then
  echo "run_pytest: $py cannot import effc, numpy, onnx and pytest: rerun tools/setup.sh" >&2
  exit 1
fi
module=$("$py" -c "import effc._effc as m; print(m.__file__)")
# The extension links the whole compiler and runtime: a change anywhere in
# them (an emitter's default, a pass) must reach the tests, not only the
# binding's own files.
stale=$(find "$repo/tools/python" "$repo/compiler" "$repo/dialects" "$repo/passes" "$repo/runtime" \
  -newer "$module" -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.py' -o -name '*.cuh' \
  -o -name '*.td' -o -name '*.inc' -o -name '*.proto' -o -name CMakeLists.txt \) | head -3)
if [ -n "$stale" ]; then
  echo "run_pytest: $module is older than $(echo $stale | tr ' ' ','): pip install $repo" >&2
  (cd "$repo" && "$venv/bin/pip" install --quiet --no-build-isolation "$repo") ||
    { echo "run_pytest: reinstalling the effc package failed" >&2; exit 1; }
fi
cd "$here"
EFFC_SHARED_DIR=$shared exec "$py" -m pytest -q -p no:cacheprovider -rs "$@" .
