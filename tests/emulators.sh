# Local object-store servers for the remote-output tests, sourced by tests/run.sh.
#
# Installs (once, under target/emulators) and starts on 127.0.0.1 only:
#   * moto 5.2.5 (PyPI): an S3 server, also the stand-in for GCS's S3-like XML API;
#   * Azurite 3.35.0 (npm): Azure Blob Storage.
# Creates the buckets, exports BULKWRITER_TEST_* variables naming the endpoints, and stops
# the servers by PID (emulators_stop, also run on exit). Tested commands and versions:
# ../shared/research/object_store_emulators.md.

EMU_DIR="${BULKWRITER_EMULATORS:-$PWD/target/emulators}"
EMU_RUN=""
EMU_PIDS=()

# Azurite's well-known development account (public; documented by Microsoft).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

emu_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

emu_wait_http() { # URL SECONDS
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
    sleep 0.1
  done
  echo "emulators: $1 did not answer within $2 s" >&2
  return 1
}

emu_azure_create_container() { # CONTAINER BASE_URL: a SharedKey-signed Create Container
  local c=$1 base=$2 ver=2021-08-06 d hexkey sig code
  d=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
  hexkey=$(printf '%s' "$AZURITE_KEY" | base64 -d | od -An -tx1 | tr -d ' \n')
  sig=$(printf "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:$d\nx-ms-version:$ver\n/$AZURITE_ACCOUNT/$AZURITE_ACCOUNT/$c\nrestype:container" \
        | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64)
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Length: 0' -H "x-ms-date: $d" \
        -H "x-ms-version: $ver" -H "Authorization: SharedKey $AZURITE_ACCOUNT:$sig" \
        "$base/$AZURITE_ACCOUNT/$c?restype=container")
  [ "$code" = 201 ] || [ "$code" = 409 ]
}

emulators_install() {
  if [ ! -x "$EMU_DIR/moto/bin/moto_server" ]; then
    echo "tests/emulators.sh: installing moto into $EMU_DIR/moto" >&2
    python3 -m venv "$EMU_DIR/moto"
    "$EMU_DIR/moto/bin/pip" install --quiet --disable-pip-version-check \
      'moto[s3]==5.2.5' 'flask==3.1.2' 'flask-cors==6.0.1'
  fi
  if [ ! -x "$EMU_DIR/npm/node_modules/.bin/azurite-blob" ]; then
    echo "tests/emulators.sh: installing Azurite into $EMU_DIR/npm" >&2
    mkdir -p "$EMU_DIR/npm"
    npm install --prefix "$EMU_DIR/npm" --no-audit --no-fund --silent azurite@3.35.0
  fi
}

emulators_start() {
  emulators_install
  EMU_RUN=$(mktemp -d /tmp/bulkwriter-emu.XXXXXX)
  local moto_port az_port
  moto_port=$(emu_free_port)
  az_port=$(emu_free_port)
  # `exec` keeps each server's PID the one we record, so it can be stopped by PID.
  ( exec "$EMU_DIR/moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$EMU_RUN/moto.log" 2>&1 ) &
  EMU_PIDS+=($!)
  ( exec "$EMU_DIR/npm/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$az_port" \
      --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent \
      >"$EMU_RUN/azurite.log" 2>&1 ) &
  EMU_PIDS+=($!)

  emu_wait_http "http://127.0.0.1:$moto_port/moto-api/" 60
  curl -sf -X PUT "http://127.0.0.1:$moto_port/test-bucket" >/dev/null
  curl -sf -X PUT "http://127.0.0.1:$moto_port/testbucket" >/dev/null # GCS stand-in: alphanumeric
  emu_wait_http "http://127.0.0.1:$az_port/$AZURITE_ACCOUNT?comp=list" 60
  emu_azure_create_container test-bucket "http://127.0.0.1:$az_port"

  export BULKWRITER_TEST_S3_ENDPOINT="http://127.0.0.1:$moto_port"
  export BULKWRITER_TEST_S3_BUCKET=test-bucket
  export BULKWRITER_TEST_GCS_BUCKET=testbucket
  export BULKWRITER_TEST_AZURE_ENDPOINT="http://127.0.0.1:$az_port/$AZURITE_ACCOUNT"
  export BULKWRITER_TEST_AZURE_ACCOUNT="$AZURITE_ACCOUNT"
  export BULKWRITER_TEST_AZURE_KEY="$AZURITE_KEY"
  export BULKWRITER_TEST_AZURE_CONTAINER=test-bucket
  echo "tests/emulators.sh: moto on 127.0.0.1:$moto_port (pid ${EMU_PIDS[0]}), Azurite on 127.0.0.1:$az_port (pid ${EMU_PIDS[1]})" >&2
}

emulators_stop() {
  local pid
  for pid in "${EMU_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${EMU_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  EMU_PIDS=()
  [ -n "$EMU_RUN" ] && rm -rf "$EMU_RUN"
  EMU_RUN=""
}
