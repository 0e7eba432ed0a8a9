//! The schema loader: any text as a collection schema (pymilvus `to_dict()` JSON or a Milvus
//! REST describe). A schema it accepts must also give every field's Arrow type and NumPy
//! layout, and a dry-run writer of every file type must accept or refuse it with a message.
#![no_main]

use bulkwriter_fuzz::check_message;
use bulkwriter_schema::CollectionSchema;
use bulkwriter_sink::SegmentSink;
use bulkwriter_writer::{BulkWriter, FileType, WriterOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let schema = match CollectionSchema::from_json_str(text) {
        Ok(schema) => schema,
        Err(e) => return check_message(&e.to_string()),
    };
    for field in &schema.fields {
        let _ = field.arrow_field();
        if let Err(e) = field.numpy_layout() {
            check_message(&e);
        }
    }
    let _ = schema.column_names();
    for file_type in [
        FileType::Numpy,
        FileType::Parquet,
        FileType::Json,
        FileType::Jsonl,
        FileType::Csv,
    ] {
        let sink = SegmentSink::in_memory().expect("an in-memory sink");
        let options = WriterOptions::new(file_type).with_dry_run(true);
        if let Err(e) = BulkWriter::with_sink(schema.clone(), sink, options) {
            check_message(&e.to_string());
        }
    }
});
