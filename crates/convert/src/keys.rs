//! Duplicate primary keys. Milvus keeps every row a bulk import gives it, so a key given
//! twice becomes two entities with one key; the pipeline finds such rows with a set of the
//! keys accepted so far.
//!
//! Memory: an INT64 key takes 8 bytes in the set, a VARCHAR key its 128-bit hash (16
//! bytes; two keys share a hash with a chance near n² / 2¹²⁹, about 10⁻²³ for 10⁸ keys), in a
//! hash table that is 50 to 87.5 % full, plus one control byte a slot: 10 to 18 bytes an
//! INT64 key, 19 to 34 a VARCHAR key. 10⁸ INT64 keys take 1 to 1.8 GB.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use bulkwriter_schema::arrow_json::{number_at, str_at};
use bulkwriter_schema::{CollectionSchema, DataType};
use serde_json::Value;

/// What to do with a row whose primary key an earlier row of the run had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDuplicateKey {
    /// The row is a bad row: the run stops, or it goes to the reject file when bad rows are
    /// skipped (the default for keys that are not auto-id).
    #[default]
    Error,
    /// The row is left out and counted; the first row with the key is kept.
    Skip,
    /// Every row is written (no check, no memory).
    Keep,
}

/// A primary key as the set holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Int(i64),
    Text(u128),
}

impl std::str::FromStr for OnDuplicateKey {
    type Err = String;

    /// `error`, `skip` or `keep` (any case).
    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Ok(OnDuplicateKey::Error),
            "skip" => Ok(OnDuplicateKey::Skip),
            "keep" => Ok(OnDuplicateKey::Keep),
            _ => Err(format!(
                "unknown duplicate-key policy {text:?} (one of error, skip, keep)"
            )),
        }
    }
}

impl Key {
    fn text(s: &str) -> Key {
        // Two SipHash passes with different inputs make a 128-bit hash (fixed keys, so the
        // same text always hashes alike).
        let mut first = DefaultHasher::new();
        s.hash(&mut first);
        let mut second = DefaultHasher::new();
        (0x5eed_u16, s).hash(&mut second);
        Key::Text(((first.finish() as u128) << 64) | second.finish() as u128)
    }
}

/// The keys seen so far, each set holding bare values: a `HashSet<Key>` would spend 32
/// bytes (the enum, aligned for its `u128`) on every key, INT64 ones too.
#[derive(Debug)]
enum Seen {
    Ints(HashSet<i64>),
    Texts(HashSet<u128>),
}

/// The keys accepted so far, and how a row's key is found.
#[derive(Debug)]
pub(crate) struct KeySet {
    /// The primary key field.
    pub(crate) field: String,
    seen: Seen,
    /// Rows found with a key seen before.
    pub(crate) duplicates: u64,
}

impl KeySet {
    /// A set for `schema`'s primary key, unless the policy keeps every row or Milvus makes
    /// the keys (auto-id).
    pub(crate) fn for_schema(schema: &CollectionSchema, policy: OnDuplicateKey) -> Option<KeySet> {
        if policy == OnDuplicateKey::Keep {
            return None;
        }
        let field = schema.fields.iter().find(|f| f.is_primary && !f.auto_id)?;
        Some(KeySet {
            field: field.name.clone(),
            seen: if field.data_type == DataType::VarChar {
                Seen::Texts(HashSet::new())
            } else {
                Seen::Ints(HashSet::new())
            },
            duplicates: 0,
        })
    }

    /// Whether the keys are VARCHAR values (held as hashes) rather than INT64 ones.
    fn text(&self) -> bool {
        matches!(self.seen, Seen::Texts(_))
    }

    /// The key of a row object; `None` when it has none this set can hold (the writer then
    /// refuses the row for its own reason).
    pub(crate) fn row_key(&self, row: &Value) -> Option<Key> {
        match row.get(&self.field)? {
            Value::Number(n) if !self.text() => n.as_i64().map(Key::Int),
            Value::String(s) if self.text() => Some(Key::text(s)),
            _ => None,
        }
    }

    /// The key of row `row` of a batch.
    pub(crate) fn batch_key(&self, batch: &RecordBatch, row: usize) -> Option<Key> {
        let column = batch.column_by_name(&self.field)?;
        if column.is_null(row) {
            return None;
        }
        if self.text() {
            return str_at(column.as_ref(), row).map(Key::text);
        }
        if let Some(ints) = column.as_primitive_opt::<Int64Type>() {
            return Some(Key::Int(ints.value(row)));
        }
        match number_at(column.as_ref(), row)? {
            Ok(Value::Number(n)) => n.as_i64().map(Key::Int),
            _ => None,
        }
    }

    /// Row `row` of a batch's key as the input spells it, for messages.
    pub(crate) fn batch_key_text(&self, batch: &RecordBatch, row: usize) -> String {
        batch
            .column_by_name(&self.field)
            .and_then(|c| bulkwriter_schema::arrow_json::to_json(c.as_ref(), row).ok())
            .map_or_else(String::new, |v| v.to_string())
    }

    pub(crate) fn contains(&self, key: &Key) -> bool {
        match (&self.seen, key) {
            (Seen::Ints(set), Key::Int(k)) => set.contains(k),
            (Seen::Texts(set), Key::Text(k)) => set.contains(k),
            // `row_key` and `batch_key` make only keys of the field's kind.
            _ => false,
        }
    }

    pub(crate) fn insert(&mut self, key: Key) {
        match (&mut self.seen, key) {
            (Seen::Ints(set), Key::Int(k)) => {
                set.insert(k);
            }
            (Seen::Texts(set), Key::Text(k)) => {
                set.insert(k);
            }
            _ => {}
        }
    }
}

/// The message of a duplicate row; `value` is the key as the input spells it.
pub(crate) fn duplicate_message(value: &str) -> String {
    format!(
        "duplicate primary key {value}: an earlier row has it, and Milvus would keep both rows under one key"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_found_in_rows_and_batches_and_text_keys_hash_apart() {
        let schema = CollectionSchema::from_json_value(&json!({"fields": [
            {"name": "pk", "type": "VARCHAR", "is_primary": true, "params": {"max_length": 8}},
            {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 1}}]}))
        .unwrap();
        let set = KeySet::for_schema(&schema, OnDuplicateKey::Error).unwrap();
        assert_eq!(set.row_key(&json!({"pk": "a"})), Some(Key::text("a")));
        assert_ne!(Key::text("a"), Key::text("b"));
        assert_eq!(set.row_key(&json!({"pk": 1})), None);
        let mut set = set;
        set.insert(Key::text("a"));
        assert!(set.contains(&Key::text("a")) && !set.contains(&Key::text("b")));
        assert!(KeySet::for_schema(&schema, OnDuplicateKey::Keep).is_none());
        let auto = CollectionSchema::from_json_value(&json!({"fields": [
            {"name": "pk", "type": "INT64", "is_primary": true, "auto_id": true},
            {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 1}}]}))
        .unwrap();
        assert!(KeySet::for_schema(&auto, OnDuplicateKey::Error).is_none());
    }
}
