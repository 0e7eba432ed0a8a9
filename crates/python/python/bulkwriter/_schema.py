"""Schemas as the JSON text the native writer loads: a pymilvus ``CollectionSchema`` (read
through its public ``to_dict()``, so pymilvus stays an optional dependency), a dict of that
JSON (or of Milvus's REST ``collections/describe``), JSON text, or a path to a JSON file."""

import enum
import json
import os


def _plain(value):
    """``to_dict()`` output made JSON: enums (DataType, FunctionType) by name, protobuf
    default values by their set member, nested objects through their own ``to_dict()``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if hasattr(value, "WhichOneof"):
        member = value.WhichOneof("data")
        return {member: getattr(value, member)} if member else None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict())
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot read {type(value).__name__} in a schema")


def schema_json(schema) -> str:
    """The schema's JSON text."""
    if isinstance(schema, str):
        text = schema.strip()
        if text.startswith("{"):
            return text
        with open(schema, encoding="utf-8") as f:
            return f.read()
    if isinstance(schema, os.PathLike):
        with open(schema, encoding="utf-8") as f:
            return f.read()
    if isinstance(schema, dict):
        return json.dumps(_plain(schema))
    if hasattr(schema, "to_dict"):
        return json.dumps(_plain(schema.to_dict()))
    raise TypeError(
        f"schema: give a pymilvus CollectionSchema, a dict, JSON text or a path, not {type(schema).__name__}"
    )
