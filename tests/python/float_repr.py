"""Reads 16-hex-digit IEEE-754 bit patterns, one per line, and prints repr(float) of each:
the independent truth for our Python-compatible float formatter.

Usage: float_repr.py BITS_FILE
"""
import struct
import sys

with open(sys.argv[1]) as f:
    out = [repr(struct.unpack("<d", bytes.fromhex(line.strip())[::-1])[0]) for line in f]
sys.stdout.write("\n".join(out))
sys.stdout.write("\n")
