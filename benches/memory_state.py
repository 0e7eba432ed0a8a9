"""How the memory a process starts with changes every contender's time on this VM, and the
ratios between them: Parquet to NUMPY and to PARQUET, ours against the pyarrow + numpy
script and the copy limit, 100k rows, in two states.

  recycled  the process starts the moment 3 GB of page cache were freed (a scratch file
            written and deleted): the pages it touches are ones the guest kernel still
            holds, as on a machine whose memory stays mapped;
  settled   the process starts 6 s after the last one ended (and a sync): this VM
            (Firecracker, free page reporting) has handed the freed memory back to its host,
            and every page the process touches is mapped again by the host first, as in a
            first run on an idle VM (benches/throughput.py --settle 6 pauses the same way).

The contenders alternate within each state, --runs times; figures are medians.

Usage (after benches/throughput.sh has made target/bench-data and target/bench-venv):
  python3 benches/memory_state.py --bulkwriter target/release/bulkwriter \\
      --python target/bench-venv/bin/python --work target/bench-data \\
      --out benches/results/memory_state.json [--runs 5]
"""
import json
import os
import shutil
import subprocess
import sys
import time
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput import (PYARROW_SCRIPT, SCHEMA, copy_limit, dir_bytes, side_arguments,  # noqa: E402
                        timed, write_json)

SCRATCH_MB = 3000
SETTLE_SECONDS = 6


def prepare(state, work):
    subprocess.run(["sync"], check=True)
    if state == "settled":
        time.sleep(SETTLE_SECONDS)
        return
    scratch = os.path.join(work, "scratch.bin")
    subprocess.run(["dd", "if=/dev/zero", f"of={scratch}", "bs=1M", f"count={SCRATCH_MB}"],
                   check=True, capture_output=True)
    os.remove(scratch)


def main():
    ap = side_arguments()
    ap.add_argument("--python", required=True)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    parquet = os.path.join(args.work, "rows-100000.parquet")
    out = os.path.join(args.work, "memory-state-out")
    output_bytes = {}

    def ours(fmt):
        shutil.rmtree(out, ignore_errors=True)
        wall, _, _ = timed([args.bulkwriter, "convert", "--schema", SCHEMA, "--input", parquet,
                            "--format", fmt, "--output", out, "--quiet"])
        output_bytes[fmt] = dir_bytes(out)
        shutil.rmtree(out, ignore_errors=True)
        return wall

    def script(fmt):
        shutil.rmtree(out, ignore_errors=True)
        wall, _, _ = timed([args.python, "-c", PYARROW_SCRIPT, parquet, fmt, out])
        shutil.rmtree(out, ignore_errors=True)
        return wall

    def limit(fmt):
        # The harness's own copy limit; it does not pause here (its --settle is left at 0).
        return copy_limit(parquet, output_bytes[fmt], args.work)

    contenders = [(name, fmt, run) for fmt in ("numpy", "parquet")
                  for name, run in (("ours", ours), ("limit", limit), ("script", script))]
    results = []
    for state in ("recycled", "settled"):
        seconds = {(name, fmt): [] for name, fmt, _ in contenders}
        for _ in range(args.runs):
            for name, fmt, run in contenders:
                prepare(state, args.work)
                seconds[(name, fmt)].append(round(run(fmt), 3))
        for fmt in ("numpy", "parquet"):
            m = {name: median(seconds[(name, fmt)]) for name in ("ours", "limit", "script")}
            r = {"state": state, "format": fmt, "rows": 100000,
                 **{f"{name}_seconds": sorted(seconds[(name, fmt)]) for name in m},
                 **{f"{name}_median": m[name] for name in m},
                 "of_copy_limit": round(m["limit"] / m["ours"], 2),
                 "vs_pyarrow_script": round(m["script"] / m["ours"], 2)}
            print(json.dumps(r), flush=True)
            results.append(r)
    if args.out:
        write_json(args.out, {"runs": args.runs, "scratch_MB": SCRATCH_MB,
                              "settle_seconds": SETTLE_SECONDS, "results": results})


if __name__ == "__main__":
    main()
