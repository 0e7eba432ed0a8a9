//! What every file type does with a row besides checking its field values: the error that
//! names the field, the struct-field presence rule and the dynamic-field (`$meta`) merge.

use std::collections::BTreeSet;

use bulkwriter_schema::rules::{self, RuleError, loses_digits};
use bulkwriter_schema::{
    CollectionSchema, DYNAMIC_FIELD, DataType, FieldSchema, StructFieldSchema,
};
use serde_json::{Map, Value};

use crate::pyjson;

/// The original JSON text of a row's top-level members whose parse [`loses_digits`] (an
/// integer beyond 64 bits, or `-0`), as `(key, text)` with the row's (mapped) keys. A JSON
/// field or a `$meta` member given so is written from its text, so it keeps its digits as
/// pymilvus and Milvus keep them; every other field ignores it (and refuses the value as
/// its type's rule says). Readers of JSON text fill it in; empty for most rows.
pub type ExactText = [(String, String)];

/// The text a reader kept for a JSON field's object or list, as a JSON string, which the
/// field's rule reads as JSON text (see [`rules::JsonField::Text`]). `None` for other fields
/// and values.
pub(crate) fn exact_json(
    field: &FieldSchema,
    row: &Map<String, Value>,
    exact: &ExactText,
) -> Option<Value> {
    if exact.is_empty()
        || field.data_type != DataType::Json
        || !row
            .get(&field.name)
            .is_some_and(|v| v.is_object() || v.is_array())
    {
        return None;
    }
    exact
        .iter()
        .rev()
        .find(|(key, _)| *key == field.name)
        .map(|(_, text)| Value::String(text.clone()))
}

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

/// A row's `$meta` object: its members, and the texts of those whose parse
/// [`loses_digits`].
#[derive(Debug, Default)]
pub(crate) struct Meta {
    members: Map<String, Value>,
    /// `(key, text)` of members whose last value was given as such text.
    texts: Vec<(String, String)>,
}

impl Meta {
    /// Adds a member, as a `dict` does: a later key keeps the first one's place and takes
    /// its value.
    pub fn insert(&mut self, key: String, value: Value, text: Option<&str>) {
        if !self.texts.is_empty() {
            self.texts.retain(|(k, _)| *k != key);
        }
        if let Some(text) = text {
            self.texts.push((key.clone(), text.to_string()));
        }
        self.members.insert(key, value);
    }

    /// Adds the members of a `$meta` object, given as `inner` parsed from `text` when it
    /// came as text.
    pub fn extend(&mut self, inner: Map<String, Value>, text: Option<&str>) {
        let members = match text {
            Some(text) if inner.values().any(loses_digits) => rules::object_members(text).ok(),
            _ => None,
        };
        let Some(members) = members else {
            for (key, value) in inner {
                self.insert(key, value, None);
            }
            return;
        };
        for (key, raw) in members {
            let value = inner.get(&key).cloned().unwrap_or(Value::Null);
            let exact = loses_digits(&value).then(|| raw.get());
            self.insert(key, value, exact);
        }
    }

    /// The object's JSON text to write with [`pyjson::write_text`], when a member was
    /// given as text; `Err` gives the object as a value otherwise.
    pub fn into_text(self) -> Result<String, Map<String, Value>> {
        if self.texts.is_empty() {
            return Err(self.members);
        }
        let mut text = String::from("{");
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            pyjson::write_str(&mut text, key);
            text.push_str(": ");
            match self.texts.iter().find(|(k, _)| k == key) {
                Some((_, exact)) => text.push_str(exact),
                None => pyjson::write_value(&mut text, value),
            }
        }
        text.push('}');
        Ok(text)
    }

    /// `json.dumps` of the object.
    pub fn dumps(self) -> String {
        match self.into_text() {
            Ok(text) => pyjson::text_dumps(&text),
            Err(members) => pyjson::dumps(&Value::Object(members)),
        }
    }
}

/// The `$meta` object of a row: keys that match no field, and the members of a `$meta` key,
/// merged in row order as pymilvus does (a later key wins). `None` when the dynamic field is
/// off; those keys are then added to `dropped`. Members named in `exact` keep their text.
pub(crate) fn dynamic_meta(
    schema: &CollectionSchema,
    row: &Map<String, Value>,
    exact: &ExactText,
    dropped: &mut Dropped,
) -> Result<Option<Meta>, FieldError> {
    let text_of = |key: &str| {
        exact
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, text)| text.as_str())
    };
    let mut meta = Meta::default();
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
                meta.extend(inner.clone(), text_of(key));
            } else {
                dropped.columns.insert(key.clone());
            }
        } else if schema.field(key).is_none()
            && !schema.struct_fields.iter().any(|s| &s.name == key)
        {
            if schema.enable_dynamic_field {
                meta.insert(key.clone(), value.clone(), text_of(key));
            } else {
                dropped.columns.insert(key.clone());
            }
        }
    }
    Ok(schema.enable_dynamic_field.then_some(meta))
}
