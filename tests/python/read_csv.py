"""Reads a CSV file with Python's csv module (RFC 4180 quoting, as Milvus's Go reader) and
prints its records as a JSON list of lists of strings: an independent parser for our CSV.

Usage: read_csv.py FILE SEPARATOR
"""
import csv
import json
import sys

path, sep = sys.argv[1], sys.argv[2]
with open(path, newline="", encoding="utf-8") as f:
    records = list(csv.reader(f, delimiter=sep, strict=True))
json.dump(records, sys.stdout)
