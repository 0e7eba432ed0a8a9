//! Building schema JSON (pymilvus's `CollectionSchema.to_dict()` form) field by field, for
//! schema templates and inference.

use serde_json::{Map, Value, json};

use crate::DataType;

/// A field of the schema JSON: name, empty description and type; the caller adds the rest.
pub fn field_json(name: &str, ty: DataType) -> Map<String, Value> {
    let mut field = Map::new();
    field.insert("name".into(), json!(name));
    field.insert("description".into(), json!(""));
    field.insert("type".into(), json!(ty.to_string()));
    field
}

/// A collection schema JSON (no auto-id, empty description) around `fields`.
pub fn schema_json(fields: Vec<Map<String, Value>>, dynamic: bool) -> Value {
    json!({
        "auto_id": false,
        "description": "",
        "fields": fields,
        "enable_dynamic_field": dynamic,
    })
}
