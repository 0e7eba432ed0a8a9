#!/usr/bin/env bash
# Runs every test of the workspace.
#
# The tests check our files with readers that are not ours: numpy, pyarrow and ml_dtypes in a
# Python venv (created once under target/test-venv, versions in tests/python/requirements.txt),
# plus pymilvus's reference output in ../shared/reference. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${BULKWRITER_VENV:-$PWD/target/test-venv}"
if ! "$venv/bin/python" -c "import numpy, pyarrow, ml_dtypes" 2>/dev/null; then
  echo "tests/run.sh: creating the test venv in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
export BULKWRITER_PYTHON="$venv/bin/python"

if [ ! -d ../shared/reference/pymilvus-3.0.2 ]; then
  echo "tests/run.sh: ../shared/reference/pymilvus-3.0.2 is missing; the golden tests need it" >&2
  exit 1
fi

cargo test --workspace --locked "$@"
