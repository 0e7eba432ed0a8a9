//! Starting a distributed write's imports from its plan: the `import.<key>` settings of
//! `bulkwriter.spark` and `bulkwriter.ray` turned into the import client, the request
//! template and the submit options of `bulkwriter_import`, which sends the plan's requests
//! as `bulkwriter import create --manifest plan.json` does.

use std::collections::BTreeMap;
use std::time::Duration;

use bulkwriter_import::submit::submit;
use bulkwriter_import::{
    ClientOptions, CreateImport, ImportClient, ImportPlan, ImportSource, Secret, SubmitOptions,
    Target, ZILLIZ_CLOUD_ENDPOINT,
};
use pyo3::prelude::*;

use crate::{error, message};

/// The settings a write's imports take; `option.<key>` adds a request option.
const KEYS: &[&str] = &[
    "uri",
    "token",
    "db_name",
    "api_key",
    "cluster_id",
    "cloud_endpoint",
    "project_id",
    "region_id",
    "access_key",
    "secret_key",
    "session_token",
    "volume",
    "collection",
    "partition",
    "wait",
    "max_jobs_in_flight",
    "poll_interval",
    "request_timeout",
    "retries",
];

/// Where and how a plan's requests are sent.
struct ImportSettings {
    client: ImportClient,
    template: CreateImport,
    submit: SubmitOptions,
}

fn duration(key: &str, text: &str) -> PyResult<Duration> {
    bulkwriter_sink::location::parse_duration(text)
        .map_err(|e| message(format!("import setting {key}: {e}")))
}

fn number<T: std::str::FromStr>(key: &str, text: &str) -> PyResult<T> {
    text.trim().parse().map_err(|_| {
        message(format!(
            "import setting {key}: {text:?} is not a whole number"
        ))
    })
}

fn flag(key: &str, text: &str) -> PyResult<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(message(format!(
            "import setting {key}: {text:?} is neither true nor false"
        ))),
    }
}

/// Reads the settings, naming any key that is unknown or missing.
fn import_settings(settings: &[(String, String)]) -> PyResult<ImportSettings> {
    let mut given: BTreeMap<&str, &str> = BTreeMap::new();
    let mut request_options = BTreeMap::new();
    for (key, value) in settings {
        if let Some(option) = key.strip_prefix("option.") {
            request_options.insert(option.to_string(), value.clone());
        } else if KEYS.contains(&key.as_str()) {
            given.insert(key, value);
        } else {
            return Err(message(format!(
                "unknown import setting {key:?}: the settings are {}, and option.<key> for a request option",
                KEYS.join(", ")
            )));
        }
    }
    let text = |key: &str| given.get(key).map(|v| v.to_string());
    let target = match (text("api_key"), text("cluster_id"), text("uri")) {
        (Some(api_key), Some(cluster_id), _) => Target::ZillizCloud {
            endpoint: text("cloud_endpoint").unwrap_or_else(|| ZILLIZ_CLOUD_ENDPOINT.into()),
            api_key: Secret::new(api_key),
            cluster_id,
            project_id: text("project_id"),
            region_id: text("region_id"),
            db_name: text("db_name"),
        },
        (Some(_), None, _) => {
            return Err(message(
                "import settings: Zilliz Cloud needs cluster_id with api_key",
            ));
        }
        (None, _, Some(uri)) => Target::Milvus {
            uri,
            token: text("token").map(Secret::new),
            db_name: text("db_name"),
        },
        (None, _, None) => {
            return Err(message(
                "import settings: give uri for Milvus (http://host:19530), or api_key and cluster_id for Zilliz Cloud",
            ));
        }
    };
    let collection_name = text("collection").ok_or_else(|| {
        message("import settings: collection names the collection to import into")
    })?;
    let source = match (&target, text("volume")) {
        (Target::Milvus { .. }, _) => ImportSource::Files(Vec::new()),
        (Target::ZillizCloud { .. }, Some(name)) => ImportSource::Volume {
            name,
            data_paths: Vec::new(),
        },
        (Target::ZillizCloud { .. }, None) => match (text("access_key"), text("secret_key")) {
            (Some(access_key), Some(secret_key)) => ImportSource::ObjectUrls {
                urls: Vec::new(),
                access_key: Secret::new(access_key),
                secret_key: Secret::new(secret_key),
                token: text("session_token").map(Secret::new),
            },
            _ => {
                return Err(message(
                    "import settings: Zilliz Cloud reads the files with access_key and secret_key (or give volume)",
                ));
            }
        },
    };
    let defaults = ClientOptions::default();
    let client_options = ClientOptions {
        timeout: match given.get("request_timeout") {
            Some(t) => duration("request_timeout", t)?,
            None => defaults.timeout,
        },
        retries: match given.get("retries") {
            Some(r) => number("retries", r)?,
            None => defaults.retries,
        },
        ..defaults
    };
    let submit_defaults = SubmitOptions::default();
    let submit = SubmitOptions {
        max_jobs_in_flight: match given.get("max_jobs_in_flight") {
            Some(n) => number::<usize>("max_jobs_in_flight", n)?.max(1),
            None => submit_defaults.max_jobs_in_flight,
        },
        poll_interval: match given.get("poll_interval") {
            Some(t) => duration("poll_interval", t)?,
            None => submit_defaults.poll_interval,
        },
        wait: match given.get("wait") {
            Some(w) => flag("wait", w)?,
            None => submit_defaults.wait,
        },
        ..submit_defaults
    };
    Ok(ImportSettings {
        client: ImportClient::new(target, client_options).map_err(error)?,
        template: CreateImport {
            collection_name,
            partition_name: text("partition"),
            source,
            options: request_options,
        },
        submit,
    })
}

/// Checks import settings (`[(key, value)]`) before anything is converted: an unknown or
/// missing key, or a value that is not what its key takes, raises `BulkWriterError`.
#[pyfunction]
pub(crate) fn check_import_settings(settings: Vec<(String, String)>) -> PyResult<()> {
    import_settings(&settings).map(|_| ())
}

/// Sends every request of an import plan (`plan.json` text) to the server the settings name,
/// at most `max_jobs_in_flight` jobs at once, and with `wait` follows them to their end.
/// The plan's CSV options go with every request.
///
/// Returns `(state, error)`: `state` is the JSON text `bulkwriter import create --state`
/// reads and writes (the plan's digest and each request's number, job id and state), as far
/// as it got, and `error` why it stopped, or `None`. Settings that are wrong raise
/// `BulkWriterError` before anything is sent.
#[pyfunction]
pub(crate) fn submit_plan(
    py: Python<'_>,
    plan_json: &str,
    settings: Vec<(String, String)>,
) -> PyResult<(String, Option<String>)> {
    let settings = import_settings(&settings)?;
    let plan: ImportPlan = serde_json::from_str(plan_json).map_err(error)?;
    let mut template = settings.template;
    let mut options = plan.options.clone();
    options.append(&mut template.options);
    template.options = options;
    // submit records each job in a state file as it goes; a private one gives back what was
    // created before a failure, too.
    let state_file = std::env::temp_dir().join(format!(
        "bulkwriter-imports-{}-{}.json",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let submit_options = SubmitOptions {
        state_file: Some(state_file.clone()),
        ..settings.submit
    };
    let result = py.detach(|| {
        submit(
            &settings.client,
            &template,
            &plan,
            &submit_options,
            &mut |_| {},
        )
    });
    let state = std::fs::read_to_string(&state_file).unwrap_or_default();
    let _ = std::fs::remove_file(&state_file);
    match result {
        Ok(_) => Ok((state, None)),
        Err(e) => Ok((state, Some(crate::describe(&e)))),
    }
}
