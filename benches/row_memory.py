"""Peak memory of row-file output (JSON, JSONL, CSV) at 100k and 1M rows: the part of issue
20's memory goal (peak RSS <= 2 x chunk + 200 MB, flat from 100k to 1M rows, every output
format) that benches/throughput.py leaves out, because 1M rows of JSON are 22 GB and a copy
limit per run would double that. One fresh process per format and size, under
/usr/bin/time -v, output to the work folder's disk and removed after each run.

Usage (after benches/throughput.sh has made target/bench-data):
  python3 benches/row_memory.py --bulkwriter target/release/bulkwriter \
      --work target/bench-data --out benches/results/row_memory.json
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput import SCHEMA, dir_bytes, side_arguments, timed, write_json  # noqa: E402


def main():
    args = side_arguments().parse_args()
    results = []
    for fmt in ["json", "jsonl", "csv"]:
        for rows in [100000, 1000000]:
            source = os.path.join(args.work, f"rows-{rows}.parquet")
            out = os.path.join(args.work, "row-memory-out")
            shutil.rmtree(out, ignore_errors=True)
            seconds, rss, _ = timed(
                [args.bulkwriter, "convert", "--schema", SCHEMA, "--input", source,
                 "--format", fmt, "--output", out, "--quiet"])
            output = dir_bytes(out)
            shutil.rmtree(out)
            r = {"format": fmt, "rows": rows, "seconds": round(seconds, 2),
                 "rows_per_s": round(rows / seconds), "output_MB": round(output / 1e6),
                 "peak_rss_MB": round(rss / 2**20)}
            print(json.dumps(r), flush=True)
            results.append(r)
    if args.out:
        write_json(args.out, {"chunk_size": "128 MiB (default)", "limit_MB": 456,
                              "results": results})


if __name__ == "__main__":
    main()
