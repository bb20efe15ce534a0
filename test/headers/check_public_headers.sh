#!/bin/bash
# The runtime's public headers (runtime/include/effc/*.h) are the API users
# compile against: each must compile on its own with only runtime/include on
# the include path, and none may name protobuf or runtime-internal types
# (the manifest, generated .pb.h files, runtime/src or compiler headers).
# usage: check_public_headers.sh CXX INCLUDE_DIR
set -u
cxx=$1
inc=$2
headers=("$inc"/effc/*.h)
if [ ! -e "${headers[0]}" ]; then
  echo "no headers under $inc/effc" >&2
  exit 1
fi
status=0
for h in "${headers[@]}"; do
  name=effc/$(basename "$h")
  if ! echo "#include \"$name\"" | "$cxx" -std=c++17 -fsyntax-only -Wall -Werror -I"$inc" -x c++ -; then
    echo "FAIL: $name does not compile alone with only -I$inc" >&2
    status=1
  fi
  if grep -nE '\.pb\.h|google::protobuf|\bartifact::|\bonnx::|#include "(runtime|compiler|dialects|passes|cuda|host)/' "$h" >&2; then
    echo "FAIL: $name names protobuf or runtime-internal types (lines above)" >&2
    status=1
  fi
done
[ $status = 0 ] && echo "${#headers[@]} public headers compile alone and name no internal type"
exit $status
