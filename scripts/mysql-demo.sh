#!/usr/bin/env bash
# Runs examples/mysql_demo.cpp against a throwaway MariaDB server, started here as
# tests/mysql_support.hpp starts it: in a temp dir, on a unix socket and a free 127.0.0.1
# port, no systemd; stopped by pid and removed on exit, whatever happens.
#
#   scripts/mysql-demo.sh [path/to/mysql_demo]     (default build/demo/examples/mysql_demo)
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-build/demo/examples/mysql_demo}
for tool in /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/mariadb-admin /usr/bin/mariadb; do
  if [[ ! -x $tool ]]; then
    echo "mysql_demo: skipped: $tool not found (Debian mariadb-server and mariadb-client; scripts/install-deps.sh installs them)"
    exit 0
  fi
done

dir=$(mktemp -d /tmp/aio-mariadb-demo-XXXXXX)
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock=$dir/mysqld.sock
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if ! mariadb-install-db --no-defaults --datadir="$dir/data" --user=root --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1; then
  echo "mysql_demo: skipped: mariadb-install-db failed:"; tail -n 20 "$dir/install.log"; exit 0
fi
/usr/sbin/mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$sock" --port="$port" \
  --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin --pid-file="$dir/mariadbd.pid" \
  --log-error="$dir/error.log" --innodb-buffer-pool-size=32M --innodb-log-file-size=16M >"$dir/stdout.log" 2>&1 &
pid=$!
admin=(mariadb-admin --no-defaults --protocol=socket --socket="$sock" -uroot --connect-timeout=2)
for i in $(seq 150); do
  "${admin[@]}" ping >/dev/null 2>&1 && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "mysql_demo: skipped: mariadbd exited during startup:"; tail -n 20 "$dir/error.log"; exit 0
  fi
  if [[ $i == 150 ]]; then echo "mysql_demo: skipped: mariadbd did not answer ping within 15 s"; exit 0; fi
  sleep 0.1
done
# A user with a password over TCP, as an application would connect.
mariadb --no-defaults --protocol=socket --socket="$sock" -uroot -e "
  CREATE DATABASE aio_demo CHARACTER SET utf8mb4;
  CREATE USER 'demo'@'127.0.0.1' IDENTIFIED BY 'demo-secret';
  GRANT ALL ON aio_demo.* TO 'demo'@'127.0.0.1';"
echo "== mysql_demo (MariaDB $("${admin[@]}" version 2>/dev/null | sed -n 's/^Server version[[:space:]]*//p') on 127.0.0.1:$port)"
"$demo" --host 127.0.0.1 --port "$port" --user demo --password demo-secret --db aio_demo
