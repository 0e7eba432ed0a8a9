"""Python's own rendering of a reference JSON/JSONL file, optionally with bulkwriter's one
deliberate change: a JSON-field value that is not an object is written as a string holding
its JSON text (Milvus's JSON reader rejects a bare list or number there).

Prints the file's bytes exactly as pymilvus's writer would have produced them with that
value (json.dump(indent=2) for .json, one json.dumps per line for .jsonl).

Usage: rows_reference.py FILE SCHEMA_JSON {as-is|json-fields-as-text}
"""
import json
import sys

path, schema_path, mode = sys.argv[1:4]
with open(schema_path) as f:
    schema = json.load(f)
json_fields = {f["name"] for f in schema["fields"] if f["type"] == "JSON"}


def fix(row):
    if mode == "json-fields-as-text":
        for name in json_fields:
            value = row.get(name)
            if value is not None and not isinstance(value, dict):
                row[name] = json.dumps(value)
    return row


with open(path) as f:
    text = f.read()
if path.endswith(".jsonl"):
    rows = [fix(json.loads(line)) for line in text.splitlines()]
    out = "".join(json.dumps(row) + "\n" for row in rows)
else:
    rows = [fix(row) for row in json.loads(text)["rows"]]
    out = json.dumps({"rows": rows}, indent=2)
sys.stdout.write(out)
