#!/usr/bin/env bash
# Runs every test (lit + GoogleTest) through ctest. Needs tools/setup.sh first.
# No test may be skipped but the GPU/opt-in ones (check_skips.py): a missing
# prerequisite (python's onnx, ../shared, libonnx-testdata, libnvrtc) fails the
# run (DEVELOPING.md, Tests). EFFC_BUILD_DIR picks another build
# (tools/sanitize.sh: build-san); arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$PWD/tools
cd "${EFFC_BUILD_DIR:-build}"
junit=$PWD/Testing/ctest-junit.xml
rm -f "$junit"
status=0
# The whole output of every test goes to the JUnit file, so that a skip's reason is there.
ctest --output-on-failure --no-tests=error --output-junit "$junit" --test-output-size-passed 1048576 \
  -j"$(nproc)" "$@" || status=$?
python3 "$tools/check_skips.py" "$junit" || status=1
exit "$status"
