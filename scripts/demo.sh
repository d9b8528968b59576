#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build (Release), run the tour (its last
# sections start the seed web server, examples/hello_web.cpp, and fetch a page from it, then
# run the seed's client program, examples/http_client.cpp), then examples/mysql_demo.cpp
# against a throwaway MariaDB server when one can be started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIO_BUILD_TESTS=OFF -DAIO_BUILD_BENCH=OFF
cmake --build build/demo --target tour hello_web http_client mysql_demo
./build/demo/examples/tour
bash scripts/mysql-demo.sh build/demo/examples/mysql_demo
