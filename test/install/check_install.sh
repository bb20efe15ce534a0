#!/bin/bash
# What `cmake --install` gives users, checked from outside the build tree:
# the layout, the public header set, a shared library that exports the API
# and nothing internal, and examples/cpp-inference configured with
# find_package(effc) against the installed tree, linked to the shared and to
# the static library, each run on the host backend against a model's
# reference; the default backend (cuda) without a GPU must fail clearly.
# Any missing piece fails the test.
#   check_install.sh SOURCE_DIR BUILD_DIR WORK_DIR MODEL_DIR CXX "CXX_FLAGS" TOOL...
# (TOOL: the programs expected in PREFIX/bin; WORK_DIR is emptied first)
set -euo pipefail
src=$1 build=$2 work=$3 model_dir=$4 cxx=$5 cxx_flags=$6
shift 6
tools=("$@")
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log"

# Layout: exactly the public headers, both libraries, the package files, the tools.
diff <(cd "$src/runtime/include/effc" && ls -- *.h) <(cd "$prefix/include/effc" && ls) ||
  fail "installed headers differ from runtime/include/effc/*.h (above)"
for f in lib/libeffc_runtime.a lib/libeffc_runtime.so lib/cmake/effc/effcConfig.cmake \
         lib/cmake/effc/effcConfigVersion.cmake lib/cmake/effc/effcTargets.cmake \
         lib/cmake/effc/effcStaticTargets.cmake "${tools[@]/#/bin/}"; do
  [ -e "$prefix/$f" ] || fail "$prefix/$f not installed"
done
bash "$src/test/headers/check_public_headers.sh" "$cxx" "$prefix/include"

# The shared library: versioned SONAME; needs only the C/C++ runtime
# libraries and libprotobuf (and the sanitizer runtimes in a sanitizer build);
# exports every class and free function of the public headers and no
# internal symbol (protobuf, the generated messages, the runtime's own
# namespaces: runtime/package/effc_runtime.map).
so=$prefix/lib/libeffc_runtime.so
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname =~ ^libeffc_runtime\.so\.[0-9]+\.[0-9]+$ ]] || fail "SONAME is '$soname'"
[ -e "$prefix/lib/$soname" ] || fail "$soname not installed"
allowed='^(libc|libm|libstdc\+\+|libgcc_s|libdl|libpthread|ld-linux-x86-64|libprotobuf)\.so'
[[ $cxx_flags == *-fsanitize* ]] && allowed='^(libc|libm|libstdc\+\+|libgcc_s|libdl|libpthread|ld-linux-x86-64|libprotobuf|libasan|libubsan)\.so'
needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
extra=$(grep -vE "$allowed" <<< "$needed" || true)
[ -z "$extra" ] || fail "libeffc_runtime.so needs $(echo $extra)"
exported=$(nm -D --defined-only -C "$so" | cut -d' ' -f3-)
leaked=$(grep -vE '^(typeinfo for |typeinfo name for |vtable for )?effc::[A-Z]' <<< "$exported" |
         grep -vE '^effc::[a-z][A-Za-z0-9]*(\[abi:cxx11\])?\(' | head -5 || true)
[ -z "$leaked" ] || fail "libeffc_runtime.so exports internal symbols, e.g. $leaked"
for class in Session Model HostTensor DeviceTensor; do
  grep -q "^effc::$class::" <<< "$exported" || fail "effc::$class is not exported"
done
# Free functions declared at namespace scope of the public headers (outside
# namespace detail); inline ones need no export.
functions=$(cd "$prefix/include/effc" && awk '/^namespace detail/{d=1} d&&/^}/{d=0;next} !d' ./*.h |
  grep -E '^[A-Za-z].*\b[a-z][A-Za-z0-9]*\(' | grep -vE '^(inline|template|constexpr|static|class|struct|return|//|#)' |
  sed -E 's/.*\b([a-z][A-Za-z0-9]*)\(.*/\1/' | sort -u)
[ -n "$functions" ] || fail "found no free function in the public headers"
for f in $functions; do
  grep -qE "^effc::$f(\[abi:cxx11\])?\(" <<< "$exported" || fail "effc::$f is not exported (runtime/package/effc_runtime.map)"
done

# A model to run: the compiler from the build tree, shapes from the reference inputs.
data=$model_dir/test_data_set_0
shape=$(python3 - "$data" <<'PY'
import sys, glob, onnx
for f in sorted(glob.glob(sys.argv[1] + "/input_*.pb")):
    t = onnx.TensorProto(); t.ParseFromString(open(f, "rb").read())
    print(f"--shape {t.name}={'x'.join(str(d) for d in t.dims)}", end=" ")
PY
)
# shellcheck disable=SC2086
"$build/bin/effc" "$model_dir/model.onnx" $shape -o "$work/model.effc"

# The example is built as a user would, plus the build's sanitizer flags (a
# sanitizer build's runtime objects need its runtime libraries).
san_flags=$(grep -oE -- '-f(no-)?sanitize[^ ]*' <<< "$cxx_flags" | tr '\n' ' ' || true)
for variant in shared static; do
  app=$work/app-$variant
  static=OFF
  [ $variant = static ] && static=ON
  cmake -S "$src/examples/cpp-inference" -B "$app" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$san_flags" \
    -DEFFC_LINK_STATIC=$static > "$app.configure.log" || { cat "$app.configure.log"; fail "$variant: configure"; }
  cmake --build "$app" > "$app.build.log" || { cat "$app.build.log"; fail "$variant: build"; }
  deps=$(readelf -d "$app/cpp-inference" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if [ $variant = shared ]; then
    grep -qx "$soname" <<< "$deps" || fail "shared: the example does not link $soname"
    resolved=$(ldd "$app/cpp-inference")
    grep -q "$prefix/lib/$soname" <<< "$resolved" || fail "shared: $soname not found in $prefix/lib"
  else
    ! grep -q libeffc_runtime <<< "$deps" || fail "static: the example needs libeffc_runtime.so"
  fi
  env -u EFFC_BACKEND "$app/cpp-inference" "$work/model.effc" "$data" host | tee "$app.run.log"
  grep -q ', 0 mismatches (host backend)' "$app.run.log" || fail "$variant: host run"

  # The default backend is cuda: without a GPU, a clear error and exit 1;
  # with one, the same match as on the host.
  if [ -e /dev/nvidia0 ]; then
    env -u EFFC_BACKEND "$app/cpp-inference" "$work/model.effc" "$data" | tee "$app.cuda.log"
    grep -q ', 0 mismatches (cuda backend)' "$app.cuda.log" || fail "$variant: cuda run"
  else
    status=0
    env -u EFFC_BACKEND "$app/cpp-inference" "$work/model.effc" "$data" 2> "$app.cuda.log" || status=$?
    cat "$app.cuda.log"
    [ $status = 1 ] || fail "$variant: default (cuda) backend without a GPU exited $status, not 1"
    grep -q 'cuda backend: no CUDA driver/GPU found.*"host"' "$app.cuda.log" ||
      fail "$variant: default (cuda) backend without a GPU: not the expected message"
  fi
done
echo "install OK: $prefix; examples/cpp-inference (shared and static) match the reference"
