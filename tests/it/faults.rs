//! Faults a user meets: a full disk, a directory they may not write, expired credentials, and
//! secrets in the output of a failing run. Each asserts the exact message; the files left are
//! checked by `tests/python/verify_runs.py` (google-crc32c, pyarrow).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common::{python, run_python};
use crate::remote::{FlakyProxy, download, env, unique_prefix};

/// Writes medium_articles rows with ids `0..rows` and vectors of pseudo-random floats, which
/// Parquet cannot compress: a segment of a 1 MiB chunk takes about 1.6 MB on disk.
fn write_random_input(path: &Path, rows: u64) {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut text = String::new();
    for id in 0..rows {
        let vector: Vec<String> = (0..768)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                format!("{}", (state >> 40) as f32 / (1u64 << 24) as f32)
            })
            .collect();
        text.push_str(&format!(
            "{{\"id\": {id}, \"title\": \"t{id}\", \"vector\": [{}], \"link\": \"l\", \"reading_time\": 1, \"publication\": \"p\", \"claps\": 2, \"responses\": 3}}\n",
            vector.join(", ")
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn bulkwriter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwriter"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_full_disk_names_the_file_and_lists_only_whole_segments() {
    // A 2500 KiB tmpfs in a private mount namespace (root in CI): room for one segment.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.jsonl");
    write_random_input(&input, 1500);
    let (out_dir, saved) = (dir.path().join("out"), dir.path().join("saved"));
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&saved).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=2500k tmpfs {out} && {bin} convert --schema schemas/medium_articles.json --input {input} --format parquet --chunk-size 1MiB --output {out} --quiet; code=$?; cp -a {out}/. {saved}/; exit $code",
        out = out_dir.display(),
        saved = saved.display(),
        input = input.display(),
        bin = env!("CARGO_BIN_EXE_bulkwriter"),
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    // The tmpfs is gone with the namespace: put what it held back where the run wrote it.
    for entry in std::fs::read_dir(&saved).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), out_dir.join(entry.file_name())).unwrap();
    }
    assert_eq!(out.status.code(), Some(1), "{}", stderr_text(&out));
    assert!(
        out.stdout.is_empty(),
        "no manifest is printed for a failed run"
    );

    let run = std::fs::read_dir(&out_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run.path().join("manifest.json")).unwrap()).unwrap();
    let data_url = manifest["data_url"].as_str().unwrap();
    let listed = manifest["stored_segments"].as_array().unwrap().len();
    assert!(listed >= 1, "the first segment fits");
    assert_eq!(
        stderr_text(&out),
        format!(
            "error: {listed} complete segment(s) were written to {data_url} before the error (listed in its manifest.json); after fixing the cause, run the same command with --resume {data_url} to continue: storing segment {next}: cannot write {data_url}/{next}.parquet: Generic LocalFileSystem error: Unable to copy data to file: No space left on device (os error 28)\n",
            next = listed + 1
        )
    );
    // Whole files only: every listed file has its size and checksum, nothing else is there
    // (no staging file of the segment that failed), and no row is written twice.
    let runs = json!([{"base": "", "data_path": manifest["data_path"], "finished": false}]);
    let file = dir.path().join("runs.json");
    std::fs::write(&file, runs.to_string()).unwrap();
    run_python("verify_runs.py", &[file.to_str().unwrap()]);
}

/// Runs the binary as `nobody` when we are root (root ignores file permissions).
fn as_unprivileged_user() -> Command {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if is_root {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_bulkwriter"))
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        command
    } else {
        bulkwriter()
    }
}

#[test]
fn a_directory_without_write_permission_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let readonly = dir.path().join("readonly");
    std::fs::create_dir(&readonly).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o555)).unwrap();
    let input = dir.path().join("input.jsonl");
    write_random_input(&input, 3);
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = |output: &Path| {
        as_unprivileged_user()
            .args(["convert", "--schema", "schemas/medium_articles.json"])
            .arg("--input")
            .arg(&input)
            .args(["--format", "parquet", "--output"])
            .arg(output)
            .output()
            .unwrap()
    };
    // The output directory cannot be created.
    let out = run(&readonly.join("out"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_text(&out),
        format!(
            "error: cannot use output directory {}/out: Permission denied (os error 13)\n",
            readonly.display()
        )
    );
    // It exists, but the run's folder cannot be created in it: found before any row.
    let out = run(&readonly);
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_text(&out);
    let prefix = format!(
        "error: cannot write to {0}: Generic LocalFileSystem error: Unable to create dir {0}/",
        readonly.display()
    );
    assert!(
        stderr.starts_with(&prefix) && stderr.ends_with(": Permission denied (os error 13)\n"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&readonly).unwrap().count(), 0);
}

/// A container SAS token for Azurite, valid from `start` to `expiry` (RFC 3339).
fn azurite_sas(start: &str, expiry: &str) -> String {
    let code = format!(
        "from datetime import datetime\n\
         from azure.storage.blob import generate_container_sas, ContainerSasPermissions\n\
         print(generate_container_sas({account:?}, {container:?}, account_key={key:?},\n\
             permission=ContainerSasPermissions(read=True, add=True, create=True, write=True, delete=True, list=True),\n\
             start=datetime.fromisoformat({start:?}), expiry=datetime.fromisoformat({expiry:?})))",
        account = env("BULKWRITER_TEST_AZURE_ACCOUNT"),
        container = env("BULKWRITER_TEST_AZURE_CONTAINER"),
        key = env("BULKWRITER_TEST_AZURE_KEY"),
    );
    let out = python().args(["-c", &code]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn convert_to_azure(sas: &str, prefix: &str) -> Output {
    bulkwriter()
        .args([
            "convert",
            "--schema",
            "schemas/medium_articles.json",
            "--input",
            "fixtures/medium_articles.json",
            "--format",
            "parquet",
            "--output",
            &format!("az://{}/{prefix}", env("BULKWRITER_TEST_AZURE_CONTAINER")),
        ])
        .arg("--storage-option")
        .arg(format!(
            "account_name={}",
            env("BULKWRITER_TEST_AZURE_ACCOUNT")
        ))
        .arg("--storage-option")
        .arg(format!(
            "endpoint={}",
            env("BULKWRITER_TEST_AZURE_ENDPOINT")
        ))
        .args(["--storage-option", "allow_http=true"])
        .arg("--storage-option")
        .arg(format!("sas_token={sas}"))
        .output()
        .unwrap()
}

#[test]
fn expired_credentials_are_named_as_such_and_never_shown() {
    let prefix = unique_prefix("expired");
    let expired = azurite_sas("2020-01-01T00:00:00+00:00", "2020-01-02T00:00:00+00:00");
    let out = convert_to_azure(&expired, &prefix);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_text(&out),
        format!(
            "error: cannot write to az://{}/{prefix}: the credentials were refused (AuthorizationFailure: Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature.): check that they have not expired and that they may write here\n",
            env("BULKWRITER_TEST_AZURE_CONTAINER")
        )
    );
    let signature = expired.split('&').find(|p| p.starts_with("sig=")).unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_text(&out)
    );
    assert!(
        !all.contains(&signature[4..]) && !all.contains(&expired),
        "{all}"
    );
    // The same token, valid: the run goes through (the refusal was the expiry).
    let valid = azurite_sas("2020-01-01T00:00:00+00:00", "2099-01-01T00:00:00+00:00");
    let out = convert_to_azure(&valid, &prefix);
    assert!(out.status.success(), "{}", stderr_text(&out));
}

#[test]
fn secrets_never_appear_in_any_output_of_a_failing_remote_run() {
    const SECRETS: [&str; 4] = [
        "ENVSECRETKEYvalue1",
        "ENVSESSIONTOKENvalue2",
        "OPTIONSECRETvalue3",
        "MILVUSTOKENvalue4",
    ];
    // Writes fail after the write check and the first manifest: the run stops mid-way.
    let proxy = FlakyProxy::start("fail-after", 4);
    let bucket = env("BULKWRITER_TEST_S3_BUCKET");
    let prefix = unique_prefix("secrets");
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejected.jsonl");
    let input = dir.path().join("input.jsonl");
    write_random_input(&input, 400);
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("{\"id\": \"not a number\"}\n");
    std::fs::write(&input, text).unwrap();
    let mut everything = String::new();
    for log_format in ["text", "json"] {
        let out = bulkwriter()
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", SECRETS[0])
            .env("AWS_SESSION_TOKEN", SECRETS[1])
            .env("MILVUS_TOKEN", SECRETS[3])
            .args(["convert", "--schema", "schemas/medium_articles.json"])
            .arg("--input")
            .arg(&input)
            .args(["--format", "parquet", "--chunk-size", "100KiB"])
            .args(["--on-error", "skip", "--reject-file"])
            .arg(&rejects)
            .args(["--log-format", log_format, "--output"])
            .arg(format!("s3://{bucket}/{prefix}"))
            .arg("--storage-option")
            .arg(format!("endpoint={}", proxy.endpoint))
            .args(["--storage-option", "allow_http=true"])
            .args(["--storage-option", "region=us-east-1", "--storage-option"])
            .arg(format!("secret_access_key={}", SECRETS[2]))
            .args(["--storage-option", "max_retries=1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr_text(&out));
        assert!(stderr_text(&out).contains("503"), "{}", stderr_text(&out));
        everything.push_str(&String::from_utf8_lossy(&out.stdout));
        everything.push_str(&stderr_text(&out));
        everything.push_str(&std::fs::read_to_string(&rejects).unwrap());
    }
    // What the runs stored (manifests included), read back with boto3.
    let dest = dir.path().join("bucket");
    let keys = download("s3", &bucket, &prefix, &dest);
    assert!(
        keys.iter().any(|k| k.ends_with("/manifest.json")),
        "{keys:?}"
    );
    for key in keys.iter().filter(|k| k.ends_with(".json")) {
        everything.push_str(&std::fs::read_to_string(dest.join(key)).unwrap());
    }
    // Help texts list the environment variables, never their values.
    for args in [&["convert", "--help"][..], &["import", "create", "--help"]] {
        let out = bulkwriter()
            .env("AWS_SECRET_ACCESS_KEY", SECRETS[0])
            .env("MILVUS_TOKEN", SECRETS[3])
            .env("ZILLIZ_API_KEY", SECRETS[3])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        everything.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    assert!(everything.contains("MILVUS_TOKEN"), "the help was read");
    for secret in SECRETS {
        assert!(
            !everything.contains(secret),
            "{secret} appears in the output:\n{everything}"
        );
    }
}
