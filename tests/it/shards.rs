//! `convert --shard I/N` and `bulkwriter plan` (issue 17): for N in 1, 2, 3 and 7, over JSONL
//! (two files, blank lines), CSV (quoted titles with commas, quotes and line breaks) and a
//! Parquet file of many row groups, the shards' outputs read back by pyarrow are, together,
//! exactly the rows Python wrote — none lost, none twice — and `plan` over the runs counts
//! them, refusing a set of runs with a shard missing or given twice.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::run_python;

const SCHEMA: &str = r#"{"fields": [
    {"name": "id", "type": "INT64", "is_primary": true},
    {"name": "title", "type": "VARCHAR", "params": {"max_length": 256}},
    {"name": "vector", "type": "FLOAT_VECTOR", "params": {"dim": 4}}
]}"#;

fn bulkwriter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Converts shard `index`/`count` of `inputs` into run `s<index>` under `out`; returns the
/// Parquet files it wrote.
fn convert_shard(dir: &Path, inputs: &[&str], index: u64, count: u64, out: &Path) -> Vec<String> {
    let shard = format!("{index}/{count}");
    let run_id = format!("s{index}");
    let mut args = vec!["convert", "--quiet", "--schema", "schema.json", "--input"];
    args.extend(inputs);
    args.extend([
        "--format",
        "parquet",
        "--chunk-size",
        "4KiB",
        "--shard",
        &shard,
        "--run-id",
        &run_id,
        "--output",
        out.to_str().unwrap(),
    ]);
    let summary = ok(
        &Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
            .current_dir(dir)
            .args(&args)
            .output()
            .unwrap(),
        &format!("{inputs:?} shard {shard}"),
    );
    assert!(
        summary["data_path"].as_str().unwrap().ends_with(&run_id),
        "{summary}"
    );
    summary["batch_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g[0].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn shards_together_hold_every_row_once_and_plan_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.json"), SCHEMA).unwrap();
    let truth: Value = serde_json::from_str(&run_python(
        "shard_rows.py",
        &["make", dir.path().to_str().unwrap()],
    ))
    .unwrap();
    let truth = truth.as_array().unwrap();
    assert_eq!(truth.len(), 500);
    let cases: [&[&str]; 3] = [
        &["rows.jsonl", "more.jsonl"],
        &["rows.csv"],
        &["rows.parquet"],
    ];
    for inputs in cases {
        for count in [1u64, 2, 3, 7] {
            let out = dir.path().join(format!("out-{}-{count}", inputs[0]));
            let mut files = Vec::new();
            let mut nonempty = 0;
            for index in 0..count {
                let mine = convert_shard(dir.path(), inputs, index, count, &out);
                nonempty += usize::from(!mine.is_empty());
                files.extend(mine);
            }
            let mut args = vec!["read"];
            args.extend(files.iter().map(String::as_str));
            let read: Value = serde_json::from_str(&run_python("shard_rows.py", &args)).unwrap();
            let read = read.as_array().unwrap();
            // Sorted by id: equal lists mean every row once (a row twice would be a repeat).
            assert_eq!(read.len(), truth.len(), "{inputs:?} in {count} shards");
            assert!(
                read == truth,
                "{inputs:?} in {count} shards: the rows differ"
            );
            assert!(
                nonempty as u64 >= count.min(2),
                "{inputs:?} in {count} shards: the rows are spread over the shards ({nonempty} hold rows)"
            );

            let plan = ok(
                &bulkwriter(&["plan", out.to_str().unwrap()]),
                &format!("plan of {inputs:?} in {count} shards"),
            );
            assert_eq!(plan["rows"], 500, "{plan}");
            assert_eq!(plan["runs"].as_array().unwrap().len() as u64, count);
            // The plan is what `import create` sends: one group a request, as Milvus 2.3 takes.
            let plan_file = out.join("plan.json");
            std::fs::write(&plan_file, plan.to_string()).unwrap();
            let sent = ok(
                &bulkwriter(&[
                    "import",
                    "create",
                    "--manifest",
                    plan_file.to_str().unwrap(),
                    "--collection",
                    "c",
                    "--uri",
                    "http://127.0.0.1:1",
                    "--dry-run",
                    "--max-files-per-request",
                    "1",
                ]),
                "import create --dry-run of the plan",
            );
            let requests = sent["requests"].as_array().unwrap();
            assert_eq!(requests.len(), files.len(), "one request per segment");
            let rows: u64 = requests.iter().map(|r| r["rows"].as_u64().unwrap()).sum();
            assert_eq!(rows, 500);
            std::fs::remove_file(&plan_file).unwrap();
            if count > 1 {
                // One shard's run left out: the plan would lose its rows.
                let some: Vec<String> = (1..count)
                    .map(|i| out.join(format!("s{i}")).display().to_string())
                    .collect();
                let mut args = vec!["plan"];
                args.extend(some.iter().map(String::as_str));
                let missing = bulkwriter(&args);
                let stderr = String::from_utf8_lossy(&missing.stderr);
                assert!(!missing.status.success());
                assert!(
                    stderr.contains(&format!("shard 0/{count} is missing")),
                    "{stderr}"
                );
            }
        }
    }
}

#[test]
fn a_run_id_names_the_folder_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.json"), SCHEMA).unwrap();
    std::fs::write(
        dir.path().join("rows.jsonl"),
        "{\"id\": 1, \"title\": \"a\", \"vector\": [1, 2, 3, 4]}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = |id: &str| {
        Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
            .current_dir(dir.path())
            .args([
                "convert",
                "--quiet",
                "--schema",
                "schema.json",
                "--input",
                "rows.jsonl",
            ])
            .args(["--format", "numpy", "--run-id", id, "--output"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = ok(&run("task-3.attempt-0"), "first run");
    assert_eq!(
        first["data_path"],
        out.join("task-3.attempt-0").display().to_string()
    );
    assert!(out.join("task-3.attempt-0/manifest.json").is_file());
    let again = run("task-3.attempt-0");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("already holds a run"), "{stderr}");
    let bad = run("../escape");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(stderr.contains("cannot name a run's folder"), "{stderr}");
    assert!(!dir.path().join("escape").exists());
    // A run listed twice (its manifest copied elsewhere) is refused by plan.
    let copy = out.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    let manifest = out.join("task-3.attempt-0/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(copy.join("manifest.json"), &text).unwrap();
    let twice = bulkwriter(&["plan", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(!twice.status.success());
    assert!(stderr.contains("given twice"), "{stderr}");
}
