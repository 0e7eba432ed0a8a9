//! Milvus collection schemas for bulk import.
//!
//! This crate knows what a Milvus collection looks like and what a valid row of it is:
//!
//! * [`DataType`]: every type pymilvus 3.0.2's BulkWriter accepts, with the Arrow type
//!   ([`DataType`] → [`arrow_schema::DataType`]) and NumPy dtype each field is written as;
//! * [`FieldSchema`], [`StructFieldSchema`] and [`CollectionSchema`], loaded from the JSON that
//!   pymilvus's `CollectionSchema.to_dict()` produces or from Milvus's REST v2 collection
//!   describe (see [`CollectionSchema::from_json_str`]);
//! * [`rules`]: the per-value validation rules with pymilvus's messages, fixed where pymilvus
//!   is wrong (INT64 and INT8_VECTOR ranges, sparse indices, VARCHAR length in UTF-8 bytes as
//!   the Milvus server counts it, NaN and infinity).
//!
//! * [`arrow_json`]: an Arrow cell as the JSON value the rules check.
//!
//! It does no I/O beyond parsing text.

pub mod arrow_json;
mod collection;
mod error;
mod field;
pub mod rules;
pub mod template;
mod types;

pub use arrow_json::arrow_row_to_json;
pub use collection::{CollectionSchema, DYNAMIC_FIELD, valid_field_name};
pub use error::SchemaError;
pub use field::{DefaultValue, FieldSchema, NumpyDtype, StructFieldSchema};
pub use types::DataType;
