//! The bundled sample to NumPy files with `bulkwriter_convert` alone (`-- OUTPUT_DIR`).
use bulkwriter_convert::{ConvertOptions, FileType, InputOptions, NoProgress, Result, RunSummary};
use std::sync::atomic::AtomicBool;
/// Converts the sample into `<output>/<uuid>/1/<field>.npy`, as `bulkwriter convert` does.
pub fn convert(output: &str) -> Result<RunSummary> {
    let inputs = ["fixtures/medium_articles.json"];
    let input = InputOptions::from_schema_file("schemas/medium_articles.json", &inputs)?;
    let options = ConvertOptions::new(input, FileType::Numpy, output);
    bulkwriter_convert::run(&options, &mut NoProgress, &AtomicBool::new(false))
}
fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let summary = convert(&std::env::args().nth(1).unwrap_or_else(|| "out".into()))?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
