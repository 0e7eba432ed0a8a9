"""Runs a command with its stderr on a pseudo-terminal (stdout stays a pipe) and prints what
the terminal received as JSON: {"status": N, "terminal": "..."}, so a test can see the
progress bar a user would see.

Usage: run_in_pty.py CMD [ARG...]
"""
import json
import os
import pty
import subprocess
import sys

main, secondary = pty.openpty()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=secondary)
os.close(secondary)
chunks = []
while True:
    try:
        data = os.read(main, 65536)
    except OSError:
        break
    if not data:
        break
    chunks.append(data)
proc.stdout.read()
status = proc.wait()
json.dump({"status": status, "terminal": b"".join(chunks).decode("utf-8", "replace")}, sys.stdout)
