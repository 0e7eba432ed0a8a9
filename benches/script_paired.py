"""Ours against the pyarrow + numpy script (throughput.py's PYARROW_SCRIPT), Parquet to NUMPY
and to PARQUET, alternating in every round so that the VM's drift in speed falls on both
alike: the script's times vary by 2x from one run of throughput.py to the next. Prints the
median seconds of each and their ratio. Run by hand, after benches/throughput.sh has built
the release binary, the venv and the data:

  target/bench-venv/bin/python benches/script_paired.py --rounds 5
"""

import argparse
import os
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import throughput  # noqa: E402  the same script, schema and timing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulkwriter", default=os.path.join(ROOT, "target", "release", "bulkwriter"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench-data"))
    ap.add_argument("--rows", type=int, nargs="+", default=[100000, 1000000])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    out = os.path.join(args.work, "paired-out")
    for rows in args.rows:
        source = throughput.generate(args.python, rows, args.work)
        seconds = {}
        for _ in range(args.rounds):
            for fmt in ("numpy", "parquet"):
                for who, cmd in (
                    ("script", [args.python, "-c", throughput.PYARROW_SCRIPT, source, fmt, out]),
                    ("ours", [args.bulkwriter, "convert", "--schema", throughput.SCHEMA, "--input",
                              source, "--format", fmt, "--output", out, "--quiet"]),
                ):
                    shutil.rmtree(out, ignore_errors=True)
                    wall, _, _ = throughput.timed(cmd)
                    shutil.rmtree(out, ignore_errors=True)
                    seconds.setdefault((fmt, who), []).append(wall)
        for fmt in ("numpy", "parquet"):
            script = statistics.median(seconds[(fmt, "script")])
            ours = statistics.median(seconds[(fmt, "ours")])
            print(f"{rows} rows, Parquet -> {fmt}: script {script:.3f} s "
                  f"{[round(s, 2) for s in seconds[(fmt, 'script')]]}, ours {ours:.3f} s "
                  f"{[round(s, 2) for s in seconds[(fmt, 'ours')]]}: {script / ours:.2f}x", flush=True)


if __name__ == "__main__":
    main()
