//! The `bulkwriter` binary as a user runs it.

use std::process::Command;

use serde_json::Value;

fn bulkwriter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
}

fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn convert_prints_a_manifest_with_import_groups() {
    let out_dir = tempfile::tempdir().unwrap();
    for (format, files_per_group) in [("numpy", 8), ("parquet", 1)] {
        let out = bulkwriter()
            .args([
                "convert",
                "--schema",
                "schemas/medium_articles.json",
                "--input",
                "fixtures/medium_articles.json",
            ])
            .args(["--format", format, "--chunk-size", "100KiB", "--output"])
            .arg(out_dir.path())
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(manifest["rows"], 60);
        assert_eq!(manifest["format"], format);
        let groups = manifest["batch_files"].as_array().unwrap();
        assert_eq!(
            manifest["segments"].as_u64().unwrap() as usize,
            groups.len()
        );
        assert!(
            groups.len() > 1,
            "100KiB chunks split 60 rows of 768 floats"
        );
        let data_path = manifest["data_path"].as_str().unwrap();
        for group in groups {
            let group = group.as_array().unwrap();
            assert_eq!(group.len(), files_per_group);
            for path in group {
                let path = path.as_str().unwrap();
                assert!(
                    path.starts_with(data_path) && std::path::Path::new(path).is_file(),
                    "{path}"
                );
            }
        }
    }
}

#[test]
fn a_bad_row_stops_convert_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/medium_articles.json")).unwrap(),
    )
    .unwrap();
    let mut lines: Vec<String> = fixture["rows"].as_array().unwrap()[..3]
        .iter()
        .map(Value::to_string)
        .collect();
    let mut bad: Value = serde_json::from_str(&lines[2]).unwrap();
    bad["vector"].as_array_mut().unwrap().pop();
    lines[2] = bad.to_string();
    lines.insert(1, String::new()); // a blank line: line numbers and row numbers now differ
    std::fs::write(&input, lines.join("\n")).unwrap();

    let out = bulkwriter()
        .args(["convert", "--schema"])
        .arg(root().join("schemas/medium_articles.json"))
        .arg("--input")
        .arg(&input)
        .args(["--format", "numpy", "--output"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no manifest on failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "error: {}: line 4: row 3, field 'vector': Illegal vector data for vector field: 'vector': array's length must be equal to vector dimension: got 767, dim is 768",
        input.display()
    );
    assert_eq!(stderr.trim_end(), expected);
}

#[test]
fn a_bad_schema_is_reported_with_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true}, {"name": "v", "type": "FLOAT_VECTOR"}]}"#).unwrap();
    let out = bulkwriter()
        .args(["convert", "--schema"])
        .arg(&schema)
        .args([
            "--input",
            "fixtures/medium_articles.json",
            "--format",
            "parquet",
            "--output",
        ])
        .arg(dir.path().join("out"))
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("schema field 'v': FLOAT_VECTOR needs a positive \"dim\" parameter"),
        "{stderr}"
    );
}
