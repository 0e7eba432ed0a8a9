#!/usr/bin/env bash
# The throughput harness: builds the release binary, installs pymilvus 3.0.2 into a venv
# (target/bench-venv), generates the medium_articles workload once (target/bench-data), then
# measures ours, pymilvus and the copy limit side by side (benches/throughput.py) and writes
# benches/results/throughput.json. Run by hand: it takes 10-15 minutes on 2 cores.
#
# Usage: benches/throughput.sh [--rows 100000] [--large-rows 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin bulkwriter
venv=target/bench-venv
if ! "$venv/bin/python" -c "import pymilvus.bulk_writer, pyarrow, pandas" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "pymilvus[bulk_writer]==3.0.2" numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 ml_dtypes==0.6.0 \
    minio==7.2.20 azure-storage-blob==12.31.1
fi
mkdir -p benches/results
"$venv/bin/python" benches/throughput.py --bulkwriter target/release/bulkwriter \
  --python "$venv/bin/python" --work target/bench-data --out benches/results/throughput.json "$@"
