#!/usr/bin/env bash
# Installs the Debian 12 packages aio needs to build and test (run as root).
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the benchmark peers (Python uvloop, Go, Boost.Asio)
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config   # toolchain (GCC 12, CMake 3.25)
  clang libclang-rt-14-dev           # Clang 14 and its sanitizer runtimes (ASan, UBSan, TSan)
  libgtest-dev                       # GoogleTest: the test suite
  libbenchmark-dev                   # Google Benchmark: micro benchmarks in bench/
  libssl-dev openssl                 # OpenSSL: TLS streams; the openssl command makes test certificates
  liburing-dev                       # liburing 2.3: the io_uring backend
  python3 netcat-openbsd             # interop tests: asyncio peers, nc
  nlohmann-json3-dev                 # JSON bodies in aio::http
  curl wrk python3-aiohttp           # aio::http interop tests: curl, wrk and aiohttp's client
  zlib1g-dev                         # aio::http: WebSockets' permessage-deflate, the client's gzip/deflate
  python3-websockets                 # WebSocket interop tests: Python's websockets as peer
  mariadb-server mariadb-client      # aio::mysql tests start a throwaway MariaDB server
  libsodium-dev                      # aio::mysql: Ed25519 group operations for MariaDB's client_ed25519
  nginx-light                        # aio::http client tests (and the HTTP benchmark's nginx peer)
  nodejs node-ws                     # WebSocket interop tests: Node's ws as server and client (and a benchmark peer)
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(
    python3 python3-uvloop           # asyncio and uvloop peers
    golang-go                        # Go peer
    libboost-dev                     # Boost.Asio peer
    util-linux                       # taskset, to pin server and load to cores
    nodejs                           # Node peer (echo and HTTP benchmarks)
    node-llhttp                      # llhttp 8.1.0 sources: the parser micro benchmark's peer
    python3-aiomysql python3-pymysql # MySQL benchmark peers (aiomysql, PyMySQL)
    libmariadb-dev                   # MariaDB Connector/C: the MySQL benchmark's blocking C floor
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "installing: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "error: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
