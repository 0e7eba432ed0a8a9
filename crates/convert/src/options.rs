//! What a run is asked to do: [`InputOptions`] (what convert and validate share),
//! [`ConvertOptions`] (where and how to write) and [`Target`] (a new run or a resumed one).
//! Fields are public with sensible defaults from the constructors; [`InputOptions::check`]
//! refuses combinations that cannot work before anything is read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bulkwriter_input::{InputError, InputFile, ReadOptions, Shard, VectorBytes};
use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{FileType, WriterOptions};
use serde_json::Value;

use crate::{ConvertError, OnDuplicateKey, Result};

/// What to do with a bad row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop at the first bad row.
    #[default]
    Stop,
    /// Skip bad rows; write them to the reject file.
    Skip,
}

/// How inputs are read, mapped and checked: shared by [`crate::run`] and [`crate::validate`].
#[derive(Debug, Clone)]
pub struct InputOptions {
    /// The collection schema.
    pub schema: CollectionSchema,
    /// The schema as JSON, recorded in the run's manifest to check a resumed run.
    pub schema_json: Value,
    /// The inputs, in order ([`bulkwriter_input::expand`] makes them from specs).
    pub files: Vec<InputFile>,
    /// Input column name → field name.
    pub mapping: HashMap<String, String>,
    /// Drop input columns that match no field (when the dynamic field is off) instead of
    /// stopping.
    pub ignore_unknown: bool,
    /// The bad-row policy.
    pub on_error: OnError,
    /// Where skipped rows go, one JSON object per line.
    pub reject_file: Option<PathBuf>,
    /// Stop once more than this many rows were rejected.
    pub max_errors: Option<u64>,
    /// CSV input separator (None: `,`, or a tab for `.tsv`).
    pub csv_separator: Option<u8>,
    /// CSV input text of a null cell.
    pub csv_null: String,
    /// The vector field that vector dumps fill.
    pub vector_field: Option<String>,
    /// First primary key generated for vector dumps.
    pub id_start: i64,
    /// Whether inputs that hold no row make a successful (empty) run.
    pub allow_empty: bool,
    /// Byte columns of Parquet inputs to decode as float vectors, by field name.
    pub vector_bytes: HashMap<String, VectorBytes>,
    /// What a row whose primary key an earlier row had is (see [`crate::keys`]).
    pub on_duplicate_key: OnDuplicateKey,
    /// The part of the inputs this run reads, set by [`InputOptions::take_shard`].
    pub shard: Option<Shard>,
}

impl InputOptions {
    /// Reads `inputs` (paths, globs, `-`; formats from extensions) against the schema JSON
    /// `schema_json`, with every other option at its default.
    pub fn new(schema_json: Value, inputs: &[&str]) -> Result<InputOptions> {
        let schema =
            CollectionSchema::from_json_value(&schema_json).map_err(|e| ConvertError::Schema {
                what: "invalid",
                path: PathBuf::from("<schema>"),
                source: Box::new(e),
            })?;
        let specs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        Ok(InputOptions {
            schema,
            schema_json,
            files: bulkwriter_input::expand(&specs, None)?,
            mapping: HashMap::new(),
            ignore_unknown: false,
            on_error: OnError::Stop,
            reject_file: None,
            max_errors: None,
            csv_separator: None,
            csv_null: String::new(),
            vector_field: None,
            id_start: 0,
            allow_empty: false,
            vector_bytes: HashMap::new(),
            on_duplicate_key: OnDuplicateKey::Error,
            shard: None,
        })
    }

    /// Keeps only shard `shard` of the inputs ([`bulkwriter_input::shard()`]): the rows that
    /// start in its part of the inputs' bytes. A shard may hold no row; its run is then empty,
    /// not an error. Duplicate primary keys are found within the shard only.
    pub fn take_shard(&mut self, shard: Shard) -> Result<()> {
        let files = std::mem::take(&mut self.files);
        self.files = bulkwriter_input::shard(files, shard)?;
        self.shard = Some(shard);
        Ok(())
    }

    /// [`InputOptions::new`] with the schema read from a file.
    pub fn from_schema_file(path: impl AsRef<Path>, inputs: &[&str]) -> Result<InputOptions> {
        let (schema_json, _) = load_schema(path.as_ref())?;
        InputOptions::new(schema_json, inputs)
    }

    /// Refuses options that cannot work together. (A conversion that skips bad rows also
    /// needs a reject file: [`crate::run`] checks that; validating writes nothing, so it
    /// does not.)
    pub fn check(&self) -> Result<()> {
        if self.vector_field.is_none() && self.files.iter().any(|f| f.format.is_vector_dump()) {
            return Err(ConvertError::NoVectorField(InputError::NoVectorField));
        }
        for (name, layout) in &self.vector_bytes {
            let ty = self.schema.field(name).map(|f| f.data_type);
            if ty != Some(bulkwriter_schema::DataType::FloatVector) {
                return Err(ConvertError::VectorBytesField {
                    field: name.clone(),
                    layout: *layout,
                    found: ty.map_or("no such field".into(), |t| format!("a {t} field")),
                });
            }
        }
        Ok(())
    }

    /// The readers' options for these inputs.
    pub fn read_options(&self) -> ReadOptions<'_> {
        ReadOptions::new()
            .with_schema(&self.schema)
            .with_mapping(self.mapping.clone())
            .with_csv_separator(self.csv_separator)
            .with_csv_null(self.csv_null.clone())
            .with_vector_field(self.vector_field.clone(), self.id_start)
            .with_vector_bytes(self.vector_bytes.clone())
    }
}

/// Reads a schema file: its JSON (as recorded in a run's manifest) and the schema.
pub fn load_schema(path: &Path) -> Result<(Value, CollectionSchema)> {
    let text = std::fs::read_to_string(path).map_err(|e| ConvertError::Schema {
        what: "cannot read",
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let invalid = |e: Box<dyn std::error::Error + Send + Sync>| ConvertError::Schema {
        what: "invalid",
        path: path.to_path_buf(),
        source: e,
    };
    let schema = CollectionSchema::from_json_str(&text).map_err(|e| invalid(Box::new(e)))?;
    let json = serde_json::from_str(&text).map_err(|e| invalid(Box::new(e)))?;
    Ok((json, schema))
}

/// Where a conversion writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new run under `<output>/<uuid>`: a local directory or a bucket URL.
    New(String),
    /// The unfinished run `<output>/<uuid>`.
    Resume {
        /// The output the run was written under.
        output: String,
        /// The run's folder name.
        uuid: String,
    },
}

impl Target {
    /// The run in `data_path` (`<output>/<uuid>`, a manifest's `data_url`), checked against
    /// `output` when that is given too.
    pub fn resume(data_path: &str, output: Option<&str>) -> Result<Target> {
        let refuse = |reason: String| ConvertError::ResumeFolder {
            data_path: data_path.to_string(),
            reason,
        };
        let trimmed = data_path.trim_end_matches('/');
        let (parent, uuid) = match trimmed.rsplit_once('/') {
            Some((parent, uuid)) if !parent.ends_with(':') && !uuid.is_empty() => {
                (if parent.is_empty() { "/" } else { parent }, uuid)
            }
            Some(_) => {
                return Err(refuse(
                    "give the run's folder, <output>/<uuid> (the data_url of its manifest)".into(),
                ));
            }
            None => (".", trimmed),
        };
        if let Some(output) = output {
            let same = if output.contains("://") {
                output.trim_end_matches('/') == parent
            } else {
                let canonical =
                    |p: &str| std::fs::canonicalize(p.strip_prefix("file://").unwrap_or(p)).ok();
                canonical(output).is_some() && canonical(output) == canonical(parent)
            };
            if !same {
                return Err(refuse(format!("it is not a folder of the output {output}")));
            }
        }
        Ok(Target::Resume {
            output: parent.to_string(),
            uuid: uuid.to_string(),
        })
    }
}

/// A conversion: the inputs, where to write, and how.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The inputs and the bad-row policy.
    pub input: InputOptions,
    /// A new run, or the one to resume.
    pub target: Target,
    /// Settings of the remote store (object_store's keys for the scheme).
    pub storage_options: Vec<(String, String)>,
    /// File type, chunk size, CSV options, segments in flight.
    pub writer: WriterOptions,
}

impl ConvertOptions {
    /// A new run writing `file_type` files under `output`, with the writer's defaults.
    pub fn new(input: InputOptions, file_type: FileType, output: impl Into<String>) -> Self {
        ConvertOptions {
            input,
            target: Target::New(output.into()),
            storage_options: Vec::new(),
            writer: WriterOptions::new(file_type),
        }
    }
}
