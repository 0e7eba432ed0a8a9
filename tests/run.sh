#!/usr/bin/env bash
# Runs every test of the workspace, and of the Python package (tests/python/package, pytest).
#
# The tests check our files with readers that are not ours: numpy, pyarrow and ml_dtypes in a
# Python venv (created once under target/test-venv, versions in tests/python/requirements.txt),
# plus pymilvus's reference output in ../shared/reference. Remote-output tests run against
# real local servers that this script installs, starts on 127.0.0.1 and stops by PID
# (moto for S3 and the GCS stand-in, Azurite for Azure; see tests/emulators.sh), read back
# with boto3 and the Azure SDK. Then the acceptance suite imports our files into a real Milvus
# 2.3.5 and reads every row back (tests/acceptance/run.sh; skip it with
# BULKWRITER_SKIP_ACCEPTANCE=1), and the fuzz targets run briefly (fuzz/run.sh;
# BULKWRITER_FUZZ_SECONDS, 0 skips them). The Spark adapter's tests run PySpark in local mode
# on loopback (a JDK is installed if missing; BULKWRITER_SKIP_SPARK=1 skips them). Extra
# arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${BULKWRITER_VENV:-$PWD/target/test-venv}"
if ! "$venv/bin/python" -c "import numpy, pyarrow, ml_dtypes, boto3, azure.storage.blob, google_crc32c, pytest, pymilvus.bulk_writer, zstandard, pyspark, ray.data" 2>/dev/null \
  || [ ! -x "$venv/bin/maturin" ]; then
  echo "tests/run.sh: creating the test venv in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
export BULKWRITER_PYTHON="$venv/bin/python"

# PySpark (the Spark adapter's tests) needs Java 17 or later: Debian's, if the machine has none.
if ! command -v java >/dev/null 2>&1 && [ "${BULKWRITER_SKIP_SPARK:-0}" != 1 ]; then
  echo "tests/run.sh: installing a JDK for PySpark (openjdk-17-jre-headless)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

if [ ! -d ../shared/reference/pymilvus-3.0.2 ]; then
  echo "tests/run.sh: ../shared/reference/pymilvus-3.0.2 is missing; the golden tests need it" >&2
  exit 1
fi

source tests/emulators.sh
trap emulators_stop EXIT
emulators_start

# Library, binary and integration tests, then the doc examples, then one total line.
log=$(mktemp)
set +e
cargo test --workspace --locked --lib --bins --tests "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
cargo test --workspace --locked --doc 2>&1 | tee -a "$log"
doc=${PIPESTATUS[0]}
if [ "$doc" != 0 ] && [ "$status" = 0 ]; then status=$doc; fi
# The Python package (crates/python): built into the test venv by maturin, reusing the
# crates the tests just compiled, then its pytest suite, while the object stores run.
VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --locked 2>&1 | grep -v "^Ignoring" | tee -a "$log"
python_build=${PIPESTATUS[0]}
if [ "$python_build" != 0 ]; then
  echo "tests/run.sh: the Python package did not build" | tee -a "$log"
  [ "$status" = 0 ] && status=$python_build
else
  BULKWRITER_BINARY="$PWD/target/debug/bulkwriter" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/python/package 2>&1 | tee -a "$log"
  pytest_status=${PIPESTATUS[0]}
  if [ "$pytest_status" != 0 ] && [ "$status" = 0 ]; then status=$pytest_status; fi
fi
set -e
emulators_stop

if [ "${BULKWRITER_SKIP_ACCEPTANCE:-0}" != 1 ]; then
  set +e
  bash tests/acceptance/run.sh target/debug/bulkwriter 2>&1 | tee -a "$log"
  acceptance=${PIPESTATUS[0]}
  set -e
  if [ "$acceptance" != 0 ] && [ "$status" = 0 ]; then status=$acceptance; fi
fi
# The fuzz targets (fuzz/run.sh), a few seconds each: a panic, hang or runaway allocation
# fails the run.
fuzz_seconds="${BULKWRITER_FUZZ_SECONDS:-8}"
if [ "$fuzz_seconds" != 0 ]; then
  set +e
  bash fuzz/run.sh --seconds "$fuzz_seconds" 2>&1 | tee -a "$log"
  fuzz=${PIPESTATUS[0]}
  set -e
  if [ "$fuzz" != 0 ] && [ "$status" = 0 ]; then status=$fuzz; fi
fi
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
rm -f "$log"
echo
echo "$passed passed, $failed failed"
exit "$status"
