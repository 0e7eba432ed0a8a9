//! Errors from loading or checking a collection schema.

/// A schema that cannot be used, with the field it concerns where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema text is not JSON.
    #[error("schema is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is valid but its shape is not a collection schema.
    #[error("schema: {0}")]
    Shape(String),
    /// A problem with one field.
    #[error("schema field '{field}': {problem}")]
    Field {
        /// The field's name (or its position when it has none).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A problem with the collection as a whole.
    #[error("schema: {0}")]
    Collection(String),
}

impl SchemaError {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        SchemaError::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
