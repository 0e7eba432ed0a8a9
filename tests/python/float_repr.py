"""Reads IEEE-754 bit patterns in hex, one per line, and prints how Python spells each:
repr(float) for 16-digit patterns (doubles, as json.dumps writes them) or str(np.float32)
for 8-digit patterns (single floats, as pandas writes a FLOAT column to CSV). The
independent truth for our formatters.

Usage: float_repr.py BITS_FILE {f64|f32}
"""
import struct
import sys

import numpy as np

path, kind = sys.argv[1], sys.argv[2]
with open(path) as f:
    lines = [bytes.fromhex(line.strip())[::-1] for line in f]
if kind == "f64":
    out = [repr(struct.unpack("<d", b)[0]) for b in lines]
else:
    values = np.frombuffer(b"".join(lines), dtype="<f4")
    out = [str(v) for v in values]
sys.stdout.write("\n".join(out))
sys.stdout.write("\n")
