#!/usr/bin/env bash
# Acceptance by a real Milvus (2.3.5, the standalone server the PyPI package `milvus` ships):
# our converted files are imported and every row is read back (tests/acceptance/acceptance.py).
#
# Installs the pinned server and client into a cached venv (target/acceptance/venv), then runs
# itself again inside a fresh network namespace that has only `lo` (`unshare -n`), so the
# server, which listens on all interfaces, is reachable on loopback only. Starts Milvus, waits
# for /healthz and a gRPC round trip, runs the cases, stops the server by PID and checks that
# nothing is left listening. Prints "N passed, N failed" on its own line.
#
# Usage: tests/acceptance/run.sh [BULKWRITER_BINARY]   (default: target/debug/bulkwriter)
# ACCEPTANCE_ONLY=case1,case2 runs some cases. See ../shared/research/milvus_consumer_feasibility.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK="${BULKWRITER_ACCEPTANCE_DIR:-$ROOT/target/acceptance}"
VENV="$WORK/venv"
PY="$VENV/bin/python"
BIN="$(realpath "${1:-target/debug/bulkwriter}")"
PORT=19530
METRICS_PORT=9091

say() { echo "tests/acceptance: $*" >&2; }

if [[ "${ACCEPTANCE_INNER:-0}" != 1 ]]; then
  [[ -x "$BIN" ]] || { say "no bulkwriter binary at $BIN: build it first (cargo build)"; exit 1; }
  mkdir -p "$WORK"
  if ! "$PY" -c "import milvus, pymilvus, numpy" 2>/dev/null; then
    say "installing Milvus 2.3.5 and pymilvus 2.3.8 into $VENV"
    python3 -m venv "$VENV"
    # Pins that work together (each was seen to break otherwise): pymilvus 2.3.8 needs
    # pkg_resources (setuptools < 81), grpcio <= 1.60 and environs 9.5 with marshmallow 3.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "milvus==2.3.5" "pymilvus==2.3.8" "grpcio==1.60.0" "protobuf==4.25.8" \
      "setuptools==69.5.1" "environs==9.5.0" "marshmallow==3.19.0" \
      "numpy==1.26.4" "pandas==2.2.3" "pyarrow==17.0.0"
  fi
  if unshare -n true 2>/dev/null; then
    exec env ACCEPTANCE_INNER=1 unshare -n -- bash "$0" "$BIN"
  elif unshare -rn true 2>/dev/null; then
    exec env ACCEPTANCE_INNER=1 unshare -rn -- bash "$0" "$BIN"
  fi
  say "cannot create a network namespace (unshare -n): the server would listen on every interface; not running"
  echo "0 passed, 1 failed"
  exit 1
fi

# Inside the namespace: only loopback exists.
ip link set lo up
BASE="$WORK/milvus"
rm -rf "$BASE/data" "$BASE/logs" "$BASE/configs" "$WORK/files"
mkdir -p "$BASE" "$WORK/files"

SERVER_PID=""
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  local children
  children=$(pgrep -P "$SERVER_PID" | tr '\n' ' ' || true)
  # The wrapper handles SIGINT: it stops the milvus binary, then exits.
  kill -INT "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$SERVER_PID" $children 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  for child in $children; do rm -f "/tmp/milvus/server_id_$child"; done
  rmdir /tmp/milvus 2>/dev/null || true
  SERVER_PID=""
}
trap stop_server EXIT

say "starting Milvus 2.3.5 in $BASE"
"$VENV/bin/milvus-server" --data "$BASE" --proxy-port "$PORT" \
  --extra-config proxy.ip=127.0.0.1 --extra-config rootCoord.ip=127.0.0.1 \
  --extra-config queryCoord.ip=127.0.0.1 --extra-config queryNode.ip=127.0.0.1 \
  --extra-config indexNode.ip=127.0.0.1 --extra-config dataCoord.ip=127.0.0.1 \
  --extra-config dataNode.ip=127.0.0.1 --extra-config minio.address=127.0.0.1 \
  >"$WORK/server.out" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 600); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    say "the server exited early:"; tail -30 "$WORK/server.out" >&2; break
  fi
  if "$PY" - "$METRICS_PORT" "$PORT" 2>/dev/null <<'PYEOF'
import sys, urllib.request
from pymilvus import connections, utility
assert urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2).read().strip() == b"OK"
connections.connect(host="127.0.0.1", port=sys.argv[2], timeout=5)
utility.get_server_version()
PYEOF
  then ready=1; break; fi
  sleep 0.5
done
if [[ $ready != 1 ]]; then
  say "Milvus did not become ready; logs in $BASE/logs"
  echo "0 passed, 1 failed"
  exit 1
fi
say "Milvus ready (pid $SERVER_PID)"

set +e
"$PY" tests/acceptance/acceptance.py --port "$PORT" --bulkwriter "$BIN" \
  --workdir "$WORK/files" --only "${ACCEPTANCE_ONLY:-}"
status=$?
set -e

stop_server
# Nothing of ours may still listen.
if ss -ltn 2>/dev/null | awk 'NR > 1' | grep -q .; then
  say "sockets still listening after the server stopped:"; ss -ltnp >&2
  exit 1
fi
exit "$status"
