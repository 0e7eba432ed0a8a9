"""Runs a command and prints its peak resident set size in KiB (getrusage of the child), the
same figure `/usr/bin/time -v` reports as "Maximum resident set size".

Usage: peak_rss.py CMD [ARG...]
"""
import resource
import subprocess
import sys

result = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if result.returncode != 0:
    sys.stderr.write(result.stderr.decode())
    sys.exit(result.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
