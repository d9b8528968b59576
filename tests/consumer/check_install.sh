#!/usr/bin/env bash
# Checks an installed aio the way its users meet it (scripts/test.sh, step `consumer`):
#   1. the file names: libaio-cpp and libaio-cpp-http with their .pc files, never libaio.*
#      (the name of Linux's kernel AIO library, which `-laio` must keep finding);
#   2. find_package(aio): main.cpp built by CMakeLists.txt here, then run; the GCC 12 warning
#      shown for GCC before 13, silenced by AIO_GCC12_ACKNOWLEDGED, never shown for Clang;
#   3. pkg-config: the same main.cpp built with `pkg-config --cflags --libs aio-cpp-http`,
#      then run; a compile without C++20 stopped by aio's own message;
#   4. aio::mysql's library and .pc file: a program that uses it links with
#      `pkg-config --libs aio-cpp-mysql`.
# Usage: tests/consumer/check_install.sh PREFIX SCRATCH_DIR
set -euo pipefail
prefix=$(realpath "$1")
scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
fail() {
  echo "install check FAILED: $*" >&2
  exit 1
}
mkdir -p "$scratch"

echo "-- installed file names"
clashing=$(find "$prefix" -name 'libaio.*' -o -name 'libaio_http.*')
[[ -z "$clashing" ]] || fail "installed under the name of Linux's kernel AIO library: $clashing"
for lib in libaio-cpp libaio-cpp-http libaio-cpp-mysql; do
  [[ -n $(find "$prefix" \( -name "$lib.a" -o -name "$lib.so" \)) ]] || fail "$lib.a or $lib.so not installed"
done
pc_file=$(find "$prefix" -name aio-cpp.pc)
[[ -n "$pc_file" ]] || fail "aio-cpp.pc not installed"
pc_dir=$(dirname "$pc_file")
[[ -f "$pc_dir/aio-cpp-http.pc" ]] || fail "aio-cpp-http.pc not installed beside aio-cpp.pc"
[[ -f "$pc_dir/aio-cpp-mysql.pc" ]] || fail "aio-cpp-mysql.pc not installed beside aio-cpp.pc"

echo "-- find_package(aio): the GCC 12 warning"
warned_about_gcc12() {  # CMake wraps warnings at any space: join the lines first
  tr -s ' \n' ' ' <"$1" | grep -q "GCC before 13 mishandles"
}
configure() {  # configure BUILD_DIR LOG COMPILER [CMAKE_ARGS...]
  local build_dir=$1 log=$2 compiler=$3
  shift 3
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_PREFIX_PATH="$prefix" "$@" \
    >"$log" 2>&1 || {
    cat "$log"
    fail "configuring the find_package(aio) consumer with $compiler"
  }
}
configure "$scratch/cmake-gcc" "$scratch/configure-gcc.log" g++
if (($(g++ -dumpversion | cut -d. -f1) < 13)); then
  warned_about_gcc12 "$scratch/configure-gcc.log" || fail "find_package(aio) did not warn about GCC $(g++ -dumpversion)"
else
  ! warned_about_gcc12 "$scratch/configure-gcc.log" || fail "find_package(aio) warned about GCC $(g++ -dumpversion)"
fi
configure "$scratch/cmake-gcc" "$scratch/configure-gcc-acknowledged.log" g++ -DAIO_GCC12_ACKNOWLEDGED=ON
! warned_about_gcc12 "$scratch/configure-gcc-acknowledged.log" || fail "AIO_GCC12_ACKNOWLEDGED=ON did not silence the warning"
configure "$scratch/cmake-clang" "$scratch/configure-clang.log" clang++
! warned_about_gcc12 "$scratch/configure-clang.log" || fail "find_package(aio) warned about GCC while compiling with Clang"

echo "-- find_package(aio): build and run"
cmake --build "$scratch/cmake-gcc"
"$scratch/cmake-gcc/consumer"

echo "-- pkg-config: build and run"
export PKG_CONFIG_PATH="$pc_dir"
pkg-config --validate aio-cpp
pkg-config --validate aio-cpp-http
pkg_flags=$(pkg-config --cflags --libs aio-cpp-http)
echo "pkg-config --cflags --libs aio-cpp-http: $pkg_flags"
read -r -a pkg_flag_list <<<"$pkg_flags"
g++ -std=c++20 "$here/main.cpp" "${pkg_flag_list[@]}" -o "$scratch/consumer-pkgconfig"
"$scratch/consumer-pkgconfig"

echo "-- pkg-config: a compile without C++20"
read -r -a core_cflags <<<"$(pkg-config --cflags aio-cpp)"
if echo '#include <aio/aio.hpp>' | g++ -std=c++17 -fsyntax-only "${core_cflags[@]}" -x c++ - 2>"$scratch/cxx17.log"; then
  fail "aio's headers compiled as C++17"
fi
grep -q "aio needs C++20 or later" "$scratch/cxx17.log" || fail "no clear message without C++20: $(head -3 "$scratch/cxx17.log")"
echo "-- pkg-config: aio::mysql links"
pkg-config --validate aio-cpp-mysql
read -r -a mysql_flags <<<"$(pkg-config --cflags --libs aio-cpp-mysql)"
cat >"$scratch/mysql_main.cpp" <<'CPP'
#include <aio/aio.hpp>
#include <aio/mysql.hpp>
int main(int argc, char**) {
  if (argc > 1) {  // (linked, not run: there is no server here)
    aio::mysql::ConnectOptions options;
    options.host = "127.0.0.1";
    return aio::run(aio::mysql::connect(options)).last_insert_id() == 0 ? 0 : 1;
  }
  return 0;
}
CPP
g++ -std=c++20 "$scratch/mysql_main.cpp" "${mysql_flags[@]}" -o "$scratch/consumer-mysql"
"$scratch/consumer-mysql"
echo "install check passed"
