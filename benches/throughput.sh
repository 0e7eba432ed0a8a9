#!/usr/bin/env bash
# The throughput harness: builds the release binary, installs pymilvus 3.0.2, pyarrow, numpy
# and matplotlib into a venv (target/bench-venv), generates the medium_articles workload once
# (target/bench-data: 100k and 1M rows as Parquet, 100k as JSONL), starts the local S3 server
# (moto, tests/emulators.sh, on 127.0.0.1), then measures ours, pymilvus, the pyarrow + numpy
# script and the copy limit (and, for the S3 path, the server's own upload speed) side by
# side, median of 3 fresh processes each (benches/throughput.py). Writes
# benches/results/throughput.json, throughput.png and throughput.md (the README's table). Run
# by hand, with nothing else running: about 30 minutes on 2 cores, 40 GB of free disk.
#
# Usage: benches/throughput.sh [--rows 100000] [--large-rows 1000000] [--repeat 3]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin bulkwriter
venv=target/bench-venv
if ! "$venv/bin/python" -c "import pymilvus.bulk_writer, pyarrow, pandas, matplotlib, boto3" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "pymilvus[bulk_writer]==3.0.2" numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 ml_dtypes==0.6.0 \
    minio==7.2.20 azure-storage-blob==12.31.1 matplotlib==3.10.0 boto3==1.44.5
fi
source tests/emulators.sh
trap emulators_stop EXIT
emulators_start
mkdir -p benches/results
"$venv/bin/python" benches/throughput.py --bulkwriter target/release/bulkwriter \
  --python "$venv/bin/python" --work target/bench-data \
  --s3-endpoint "$BULKWRITER_TEST_S3_ENDPOINT" --s3-bucket "$BULKWRITER_TEST_S3_BUCKET" \
  --out benches/results/throughput.json --chart benches/results/throughput.png \
  --table benches/results/throughput.md "$@"
