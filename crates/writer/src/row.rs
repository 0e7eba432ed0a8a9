//! What every file type does with a row besides checking its field values: the error that
//! names the field, the struct-field presence rule and the dynamic-field (`$meta`) merge.

use std::collections::BTreeSet;

use bulkwriter_schema::rules::{self, RuleError};
use bulkwriter_schema::{CollectionSchema, DYNAMIC_FIELD, StructFieldSchema};
use serde_json::{Map, Value};

/// A validation failure of one field of one row.
#[derive(Debug)]
pub(crate) struct FieldError {
    pub field: String,
    pub error: RuleError,
}

impl FieldError {
    pub fn new(field: &str, error: RuleError) -> Self {
        FieldError {
            field: field.to_string(),
            error,
        }
    }
}

/// The row as an object, or the error pymilvus gives for anything else.
pub(crate) fn row_object(row: &Value) -> Result<&Map<String, Value>, FieldError> {
    row.as_object()
        .ok_or_else(|| FieldError::new("", RuleError("The input row must be a dict object".into())))
}

/// The value of an array-of-struct field, which every row must have.
pub(crate) fn struct_value<'a>(
    field: &StructFieldSchema,
    row: &'a Map<String, Value>,
) -> Result<&'a Value, FieldError> {
    row.get(&field.name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            FieldError::new(
                &field.name,
                RuleError(format!("The struct field '{}' is missed", field.name)),
            )
        })
}

/// Input keys the writer dropped.
#[derive(Debug, Default, Clone)]
pub(crate) struct Dropped {
    /// Top-level keys that match no field while the dynamic field is off.
    pub columns: BTreeSet<String>,
    /// Keys inside struct elements that match no sub-field, as `struct[].key`.
    pub struct_keys: BTreeSet<String>,
}

impl Dropped {
    /// Adds the keys another writer (or encoding block) dropped.
    pub fn extend(&mut self, other: Dropped) {
        self.columns.extend(other.columns);
        self.struct_keys.extend(other.struct_keys);
    }
}

/// Notes the keys of a struct value's elements that match no sub-field: they are not written
/// (the caller decides whether they may be dropped).
pub(crate) fn note_struct_keys(field: &StructFieldSchema, value: &Value, dropped: &mut Dropped) {
    let Some(items) = value.as_array() else {
        return;
    };
    for item in items.iter().filter_map(Value::as_object) {
        for key in item.keys() {
            if !field.fields.iter().any(|sub| &sub.name == key) {
                dropped
                    .struct_keys
                    .insert(format!("{}[].{key}", field.name));
            }
        }
    }
}

/// The `$meta` object of a row: keys that match no field, and the members of a `$meta` key,
/// merged in row order as pymilvus does (a later key wins). `None` when the dynamic field is
/// off; those keys are then added to `dropped`.
pub(crate) fn dynamic_meta(
    schema: &CollectionSchema,
    row: &Map<String, Value>,
    dropped: &mut Dropped,
) -> Result<Option<Map<String, Value>>, FieldError> {
    let mut meta = Map::new();
    for (key, value) in row {
        if key == DYNAMIC_FIELD {
            let Value::Object(inner) = value else {
                return Err(FieldError::new(
                    DYNAMIC_FIELD,
                    RuleError(format!(
                        "Dynamic field '$meta' value should be JSON format: expected an object, got {}",
                        rules::preview(value)
                    )),
                ));
            };
            if schema.enable_dynamic_field {
                meta.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
            } else {
                dropped.columns.insert(key.clone());
            }
        } else if schema.field(key).is_none()
            && !schema.struct_fields.iter().any(|s| &s.name == key)
        {
            if schema.enable_dynamic_field {
                meta.insert(key.clone(), value.clone());
            } else {
                dropped.columns.insert(key.clone());
            }
        }
    }
    Ok(schema.enable_dynamic_field.then_some(meta))
}
