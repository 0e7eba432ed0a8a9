//! The conversion as a library: `examples/convert_to_numpy.rs` (compiled in here, so CI
//! runs it) writes the same NumPy files as the `bulkwriter` binary, read back with numpy.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::python;

#[path = "../../examples/convert_to_numpy.rs"]
#[allow(dead_code)]
mod example;

/// The files of a run's only segment, by name, with their bytes.
fn segment_files(batch_files: &[Vec<String>]) -> Vec<(String, Vec<u8>)> {
    assert_eq!(batch_files.len(), 1, "one segment");
    batch_files[0]
        .iter()
        .map(|path| {
            let name = Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into();
            (name, std::fs::read(path).unwrap())
        })
        .collect()
}

#[test]
fn the_library_example_writes_what_the_cli_writes() {
    let dir = tempfile::tempdir().unwrap();
    let library_out = dir.path().join("library");
    let summary = example::convert(library_out.to_str().unwrap()).unwrap();
    assert_eq!(summary.rows, 60);
    assert_eq!(summary.format, "numpy");

    let cli_out = dir.path().join("cli");
    let out = Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
        .args([
            "convert",
            "--schema",
            "schemas/medium_articles.json",
            "--input",
            "fixtures/medium_articles.json",
            "--format",
            "numpy",
            "--quiet",
            "--output",
        ])
        .arg(&cli_out)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli_groups: Vec<Vec<String>> =
        serde_json::from_value(manifest["batch_files"].clone()).unwrap();

    let ours = segment_files(&summary.batch_files);
    let cli = segment_files(&cli_groups);
    assert_eq!(ours.len(), 8, "one .npy per field");
    for ((name, bytes), (cli_name, cli_bytes)) in ours.iter().zip(&cli) {
        assert_eq!(name, cli_name);
        assert!(bytes == cli_bytes, "{name} differs from the CLI's");
    }
    // numpy reads every file with the fixture's 60 rows.
    let check = r#"
import numpy, sys
for path in sys.argv[1:]:
    assert numpy.load(path).shape[0] == 60, path
print("ok")
"#;
    let out = python()
        .arg("-c")
        .arg(check)
        .args(&summary.batch_files[0])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}
