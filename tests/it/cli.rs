//! The `bulkwriter` binary as a user runs it.

use std::process::Command;

use serde_json::Value;

use crate::common::run_python;

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

fn convert(extra: &[&str], out_dir: &std::path::Path) -> std::process::Output {
    bulkwriter()
        .args([
            "convert",
            "--schema",
            "schemas/medium_articles.json",
            "--input",
            "fixtures/medium_articles.json",
        ])
        .args(extra)
        .arg("--output")
        .arg(out_dir)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Row formats: one file per import group, readable by Python's csv and serde_json, and
/// the CSV import options the request needs are in the manifest.
#[test]
fn convert_writes_row_formats_and_lists_the_csv_import_options() {
    let out_dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], Value); 4] = [
        (&["--format", "json"], serde_json::json!({})),
        (&["--format", "jsonl"], serde_json::json!({})),
        (&["--format", "csv"], serde_json::json!({})),
        (
            &["--format", "csv", "--csv-sep", "tab", "--csv-null", "NULL"],
            serde_json::json!({"sep": "\t", "nullkey": "NULL"}),
        ),
    ];
    for (args, options) in cases {
        let out = convert(
            &[args, &["--chunk-size", "300KiB"]].concat(),
            out_dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        let format = manifest["format"].as_str().unwrap().to_string();
        assert_eq!(manifest["import_options"], options, "{args:?}");
        assert_eq!(manifest["rows"], 60);
        let groups = manifest["batch_files"].as_array().unwrap();
        assert!(groups.len() > 1, "{args:?}: several segments");
        let mut rows = 0;
        for group in groups {
            let path = group[0].as_str().unwrap();
            assert_eq!(group.as_array().unwrap().len(), 1);
            assert!(path.ends_with(&format!(".{format}")), "{path}");
            let text = std::fs::read_to_string(path).unwrap();
            rows += match format.as_str() {
                "json" => serde_json::from_str::<Value>(&text).unwrap()["rows"]
                    .as_array()
                    .unwrap()
                    .len(),
                "jsonl" => text.lines().count(),
                _ => {
                    let sep = options["sep"].as_str().unwrap_or(",");
                    let records: Vec<Vec<String>> =
                        serde_json::from_str(&run_python("read_csv.py", &[path, sep])).unwrap();
                    assert_eq!(records[0][0], "id");
                    records.len() - 1
                }
            };
        }
        assert_eq!(rows, 60, "{args:?}");
    }
}

#[test]
fn csv_options_are_checked() {
    let out_dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (&["--format", "csv", "--csv-sep", "ab"][..], "--csv-sep"),
        (
            &["--format", "csv", "--csv-sep", "\""][..],
            "cannot be a CSV separator",
        ),
        (
            &["--format", "parquet", "--csv-sep", ";"][..],
            "apply only to --format csv",
        ),
    ] {
        let out = convert(args, out_dir.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// `--format` takes any case and pymilvus's `npy`; `--chunk-size` takes decimals and TiB.
#[test]
fn formats_take_any_case_and_sizes_take_decimals() {
    let out_dir = tempfile::tempdir().unwrap();
    for (given, format) in [("PARQUET", "parquet"), ("npy", "numpy"), ("Json", "json")] {
        let out = bulkwriter()
            .args([
                "convert",
                "--schema",
                "schemas/medium_articles.json",
                "--input",
                "fixtures/medium_articles.json",
                "--quiet",
                "--chunk-size",
                "1.5MB",
                "--format",
                given,
                "--output",
            ])
            .arg(out_dir.path())
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{given}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(manifest["format"], format);
        let run: Value = serde_json::from_str(
            &std::fs::read_to_string(manifest["manifest"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(run["chunk_size"], 3 << 19, "1.5 MiB");
    }
}

/// A reader of stdout that goes away (`| head -c 0`) ends the run quietly: its files are
/// complete and listed.
#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    let out_dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{} convert --schema schemas/medium_articles.json --input fixtures/medium_articles.json --format parquet --quiet --output {} | head -c 0; echo ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_bulkwriter"),
        out_dir.path().display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn convert_inputs(inputs: &[&str], extra: &[&str], out: &std::path::Path) -> std::process::Output {
    bulkwriter()
        .args([
            "convert",
            "--schema",
            "schemas/medium_articles.json",
            "--quiet",
            "--input",
        ])
        .args(inputs)
        .args(["--format", "parquet", "--output"])
        .arg(out)
        .args(extra)
        .current_dir(root())
        .output()
        .unwrap()
}

/// An empty input (empty JSONL, a header-only CSV, `[]`) is an error, not a silent success,
/// unless --allow-empty says it is expected.
#[test]
fn empty_inputs_fail_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("e.jsonl", ""), ("e.csv", "id,title\n"), ("e.json", "[]")] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        let out = convert_inputs(&[path], &[], &dir.path().join("out"));
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "error: the inputs hold no row ({path}): nothing was imported from them; pass --allow-empty if an empty input is expected\n"
            )
        );
        assert!(out.stdout.is_empty());
        let out = convert_inputs(&[path], &["--allow-empty"], &dir.path().join("out"));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(manifest["rows"], 0);
    }
}

/// `--input` takes several values (an unquoted shell glob), and a file named twice is read
/// once, with a warning.
#[test]
fn inputs_take_several_values_and_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = "fixtures/medium_articles.json";
    let copy = dir.path().join("copy.json");
    std::fs::copy(root().join(fixture), &copy).unwrap();
    // The copy repeats every key: kept, since this is about reading both files.
    let out = convert_inputs(
        &[fixture, copy.to_str().unwrap()],
        &["--on-duplicate-key", "keep"],
        &dir.path().join("a"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["rows"], 120, "two files after one --input");

    let out = convert_inputs(
        &[
            fixture,
            "--input",
            "fixtures/medium_articles.js*",
            "--input",
            "./fixtures/medium_articles.json",
        ],
        &[],
        &dir.path().join("b"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        manifest["rows"], 60,
        "the same file three times is read once"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "warning: inputs named more than once are read once: fixtures/medium_articles.json, ./fixtures/medium_articles.json\n"
    );
}

/// Every file under `dir`, relative to it, walking sub-folders.
fn files_under(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                found.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// A bad row after some segments were closed: the manifest lists exactly the segment files
/// on disk (none is stored but unlisted), and the error says how to resume. A bad row before
/// any segment leaves no run folder at all.
#[test]
fn a_failed_run_lists_exactly_its_stored_segments_or_leaves_nothing() {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/medium_articles.json")).unwrap(),
    )
    .unwrap();
    let rows = fixture["rows"].as_array().unwrap();
    for format in ["parquet", "numpy", "jsonl"] {
        for good_rows in [0, 40] {
            let dir = tempfile::tempdir().unwrap();
            let input = dir.path().join("in.jsonl");
            let mut lines: Vec<String> = rows[..good_rows].iter().map(Value::to_string).collect();
            let mut bad = rows[0].clone();
            bad["claps"] = Value::from("many");
            lines.push(bad.to_string());
            std::fs::write(&input, lines.join("\n")).unwrap();
            let out_dir = dir.path().join("out");
            let out = bulkwriter()
                .args(["convert", "--quiet", "--schema"])
                .arg(root().join("schemas/medium_articles.json"))
                .arg("--input")
                .arg(&input)
                .args(["--format", format, "--chunk-size", "20KB", "--output"])
                .arg(&out_dir)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{format}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let on_disk = files_under(&out_dir);
            if good_rows == 0 {
                assert!(on_disk.is_empty(), "{format}: left {on_disk:?}");
                assert!(!stderr.contains("--resume"), "{stderr}");
                continue;
            }
            let manifests: Vec<&String> = on_disk
                .iter()
                .filter(|f| f.ends_with("manifest.json"))
                .collect();
            assert_eq!(manifests.len(), 1, "{format}: {on_disk:?}");
            let manifest: Value =
                serde_json::from_str(&std::fs::read_to_string(out_dir.join(manifests[0])).unwrap())
                    .unwrap();
            let uuid = manifests[0].trim_end_matches("/manifest.json");
            let listed: std::collections::BTreeSet<String> = manifest["stored_segments"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["files"].as_array().unwrap().iter())
                .map(|f| {
                    let path = f["path"].as_str().unwrap();
                    format!(
                        "{uuid}/{}",
                        path.rsplit_once(&format!("{uuid}/")).unwrap().1
                    )
                })
                .collect();
            let segment_files: std::collections::BTreeSet<String> = on_disk
                .iter()
                .filter(|f| !f.ends_with("manifest.json"))
                .cloned()
                .collect();
            assert!(!listed.is_empty(), "{format}: some segments were complete");
            assert_eq!(listed, segment_files, "{format}: manifest and disk differ");
            let listed_rows: u64 = manifest["stored_segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["rows"].as_u64().unwrap())
                .sum();
            assert!(listed_rows <= 40, "{format}");
            assert!(stderr.contains("--resume"), "{format}: {stderr}");
        }
    }
}

/// Issue 19 item 17: help in the right places, validate skipping without a reject file,
/// schema templates with types and defaults, JSON errors with their row as keys.
#[test]
fn help_templates_and_json_errors_say_what_a_user_needs() {
    let help = bulkwriter().args(["convert", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let csv_null = help.find("--csv-null").unwrap();
    let import_target = help.find("Import target:").unwrap();
    assert!(csv_null < import_target, "--csv-null is an output option");

    let validate = bulkwriter()
        .args(["validate", "--quiet", "--on-error", "skip", "--schema"])
        .arg(root().join("schemas/medium_articles.json"))
        .arg("--input")
        .arg(root().join("fixtures/medium_articles.json"))
        .output()
        .unwrap();
    assert!(validate.status.success(), "{validate:?}");

    let help = bulkwriter()
        .args(["schema", "template", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for text in ["SPARSE_FLOAT_VECTOR", "INT8_VECTOR", "default=VALUE"] {
        assert!(help.contains(text), "{text} in {help}");
    }
    let template = bulkwriter()
        .args(["schema", "template", "--field", "id:INT64:primary"])
        .args([
            "--field",
            "v:FLOAT_VECTOR:dim=4",
            "--field",
            "claps:INT64:default=0",
        ])
        .args(["--field", "tag:VARCHAR:max_length=8:default=none"])
        .output()
        .unwrap();
    assert!(template.status.success(), "{template:?}");
    let schema: Value = serde_json::from_slice(&template.stdout).unwrap();
    assert_eq!(schema["fields"][2]["default_value"], 0);
    assert_eq!(schema["fields"][3]["default_value"], "none");
    let too_big = bulkwriter()
        .args(["schema", "template", "--field", "id:INT64:primary"])
        .args([
            "--field",
            "v:FLOAT_VECTOR:dim=4",
            "--field",
            "c:INT8:default=300",
        ])
        .output()
        .unwrap();
    assert_eq!(too_big.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&too_big.stderr).contains("'c'"));

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    std::fs::write(&input, "{\"id\": 1, \"title\": \"t\", \"vector\": [1], \"link\": \"l\", \"reading_time\": 1, \"publication\": \"p\", \"claps\": 2, \"responses\": 3}\n").unwrap();
    let out = bulkwriter()
        .args([
            "convert",
            "--log-format",
            "json",
            "--format",
            "parquet",
            "--schema",
        ])
        .arg(root().join("schemas/medium_articles.json"))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let event: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(event["level"], "error");
    assert_eq!(event["file"], input.display().to_string());
    assert_eq!(event["row"], 1);
    assert_eq!(event["line"], 1);
    assert_eq!(event["field"], "vector");
}

/// Issue 19 item 11: a bucket URL with one slash is an error, not a local folder `s3:`; a
/// plain-HTTP endpoint that is not allowed says which setting allows it.
#[test]
fn output_mistakes_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let one_slash = bulkwriter()
        .args(["convert", "--quiet", "--format", "parquet", "--schema"])
        .arg(root().join("schemas/medium_articles.json"))
        .arg("--input")
        .arg(root().join("fixtures/medium_articles.json"))
        .args(["--output", "s3:/bucket/x"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(one_slash.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&one_slash.stderr).contains("s3://bucket/x"),
        "{one_slash:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no folder s3:"
    );

    let http = bulkwriter()
        .args(["convert", "--quiet", "--format", "parquet", "--schema"])
        .arg(root().join("schemas/medium_articles.json"))
        .arg("--input")
        .arg(root().join("fixtures/medium_articles.json"))
        .args(["--output", "s3://bucket/x"])
        .args(["--storage-option", "endpoint=http://127.0.0.1:9"])
        .args(["--storage-option", "max_retries=0"])
        .env("AWS_ACCESS_KEY_ID", "a")
        .env("AWS_SECRET_ACCESS_KEY", "b")
        .env_remove("AWS_ALLOW_HTTP")
        .output()
        .unwrap();
    assert_eq!(http.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&http.stderr);
    assert!(stderr.contains("allow_http=true"), "{stderr}");
}

/// Issue 19 item 11: a `.json` file holding JSON Lines says so and how to read it.
#[test]
fn a_json_lines_file_named_json_points_to_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.json");
    std::fs::write(&input, "{\"id\": 1}\n{\"id\": 2}\n").unwrap();
    let out = bulkwriter()
        .args(["convert", "--quiet", "--format", "parquet", "--schema"])
        .arg(root().join("schemas/medium_articles.json"))
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: {}: not a JSON list of rows: the root object has the key 'id', not 'rows' at line 1 column 6; a file of one object per line is JSON Lines, the jsonl format: if so, pass --input-format jsonl",
            input.display()
        )
    );
}

/// Issue 19 item 11: field names Milvus refuses are refused by the schema loader with
/// Milvus's rule, and `schema infer` proposes valid names with the --map lines that read the
/// columns into them (the proposal then converts).
#[test]
fn field_names_follow_milvus_rule_and_infer_proposes_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("bad.json");
    for (name, why) in [
        (
            "sepal length (cm)",
            "it may hold only letters, digits and underscores",
        ),
        (
            "150",
            "the first character must be a letter or an underscore",
        ),
    ] {
        let json = serde_json::json!({"fields": [
            {"name": "id", "type": "INT64", "is_primary": true},
            {"name": name, "type": "FLOAT"},
            {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}}]});
        std::fs::write(&schema, json.to_string()).unwrap();
        let out = bulkwriter()
            .args(["validate", "--quiet", "--schema"])
            .arg(&schema)
            .arg("--input")
            .arg(root().join("fixtures/medium_articles.json"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("Milvus refuses the field name {name:?}: {why}")),
            "{stderr}"
        );
    }

    let csv = dir.path().join("iris.csv");
    std::fs::write(
        &csv,
        "id,sepal length (cm),150,v\n1,5.1,0.2,\"[0.5, 1.5]\"\n2,4.9,0.3,\"[1.0, 2.0]\"\n",
    )
    .unwrap();
    let inferred = bulkwriter()
        .args(["schema", "infer", "--input"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(inferred.status.success(), "{inferred:?}");
    let proposal: Value = serde_json::from_slice(&inferred.stdout).unwrap();
    let names: Vec<&str> = proposal["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "sepal_length_cm", "f_150", "v"]);
    let stderr = String::from_utf8_lossy(&inferred.stderr);
    assert!(
        stderr.contains("--map 'sepal length (cm)=sepal_length_cm'"),
        "{stderr}"
    );
    assert!(stderr.contains("--map '150=f_150'"), "{stderr}");
    let proposed = dir.path().join("proposed.json");
    std::fs::write(&proposed, &inferred.stdout).unwrap();
    let converted = bulkwriter()
        .args(["convert", "--quiet", "--format", "parquet", "--schema"])
        .arg(&proposed)
        .arg("--input")
        .arg(&csv)
        .args([
            "--map",
            "sepal length (cm)=sepal_length_cm",
            "--map",
            "150=f_150",
        ])
        .arg("--output")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let summary: Value = serde_json::from_slice(&converted.stdout).unwrap();
    assert_eq!(summary["rows"], 2);
}
