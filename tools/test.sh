#!/usr/bin/env bash
# Runs every test (lit + GoogleTest) through ctest. Needs tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
