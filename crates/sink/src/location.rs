//! Where segments go: an output given as a local path or a URL, turned into an
//! [`ObjectStore`] plus the key prefix inside it.
//!
//! | output | store | configuration from |
//! |---|---|---|
//! | `out/`, `/abs/out`, `file:///abs/out` | [`LocalFileSystem`] | — |
//! | `s3://bucket/prefix` | [`AmazonS3`](object_store::aws::AmazonS3) | `AWS_*` variables, options |
//! | `gs://bucket/prefix` | [`GoogleCloudStorage`](object_store::gcp::GoogleCloudStorage) | `GOOGLE_*` variables, options |
//! | `az://container/prefix`, `azure://…` | [`MicrosoftAzure`](object_store::azure::MicrosoftAzure) | `AZURE_*` variables, options |
//! | `oss://bucket/prefix` | S3 protocol, virtual-hosted style | `OSS_*` variables, options |
//!
//! Options (`--storage-option KEY=VALUE`) take object_store's configuration keys for the
//! scheme (`endpoint`, `region`, `access_key_id`, `allow_http`, `account_name`, ...). An
//! unknown key is an error, never silently dropped. Some keys are ours: `max_retries` and
//! `retry_timeout` (e.g. `30s`, `5min`) of the retries with backoff object_store makes on
//! transient errors, for every remote store; and for GCS `bearer_token`, an OAuth access
//! token used as is (e.g. from `gcloud auth print-access-token`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::StaticCredentialProvider;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, RetryConfig};

use crate::SinkError;

/// The kind of storage an output names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A local directory.
    Local,
    /// Amazon S3 or any S3-compatible store (MinIO, Tencent COS, ...) via `endpoint`.
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Azure Blob Storage.
    Azure,
    /// Aliyun OSS, through its S3-compatible API.
    Oss,
}

impl Scheme {
    /// The URL scheme used in reported URLs.
    pub fn url_scheme(self) -> &'static str {
        match self {
            Scheme::Local => "file",
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
            Scheme::Oss => "oss",
        }
    }
}

/// A parsed output: the store kind, the bucket (or container) and the key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLocation {
    /// The store kind.
    pub scheme: Scheme,
    /// The bucket or container; for local output, the directory.
    pub bucket: String,
    /// Keys start with this (no leading or trailing `/`; empty for the bucket root).
    pub prefix: String,
}

/// The URL schemes of object stores.
const REMOTE_SCHEMES: [&str; 9] = [
    "s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "oss",
];

impl OutputLocation {
    /// Parses `out/`, `/abs/out`, `file:///abs/out`, `s3://bucket/prefix`, `gs://...`,
    /// `az://...`, `azure://...` or `oss://...`.
    pub fn parse(output: &str) -> Result<OutputLocation, SinkError> {
        let invalid = |why: &str| SinkError::Location {
            output: output.to_string(),
            reason: why.to_string(),
        };
        let Some((scheme, rest)) = output.split_once("://") else {
            // `s3:/bucket/x` or `s3:bucket` is a URL with a slash missing, not a local
            // folder named `s3:`.
            if let Some((scheme, rest)) = output.split_once(':')
                && REMOTE_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
            {
                return Err(invalid(&format!(
                    "not a local folder: a {scheme} URL needs two slashes, {scheme}://{}",
                    rest.trim_start_matches('/')
                )));
            }
            return Ok(OutputLocation {
                scheme: Scheme::Local,
                bucket: output.to_string(),
                prefix: String::new(),
            });
        };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                return Ok(OutputLocation {
                    scheme: Scheme::Local,
                    bucket: rest.to_string(),
                    prefix: String::new(),
                });
            }
            "s3" | "s3a" => Scheme::S3,
            "gs" | "gcs" => Scheme::Gcs,
            "az" | "azure" | "abfs" | "abfss" => Scheme::Azure,
            "oss" => Scheme::Oss,
            other => {
                return Err(invalid(&format!(
                    "unknown scheme \"{other}\": use a local path, file://, s3://, gs://, az://, azure:// or oss://"
                )));
            }
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the URL names no bucket or container"));
        }
        if bucket.contains(['@', ':', '?', '#']) {
            return Err(invalid(
                "give the bucket or container name only (scheme://bucket/prefix); put accounts, endpoints and credentials in the storage options or the environment",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
            && !prefix.is_empty()
        {
            return Err(invalid("the prefix has an empty, \".\" or \"..\" segment"));
        }
        Ok(OutputLocation {
            scheme,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The URL of the output root, as reported (`s3://bucket/prefix`).
    pub fn root_url(&self) -> String {
        match self.scheme {
            Scheme::Local => self.bucket.clone(),
            _ if self.prefix.is_empty() => {
                format!("{}://{}", self.scheme.url_scheme(), self.bucket)
            }
            _ => format!(
                "{}://{}/{}",
                self.scheme.url_scheme(),
                self.bucket,
                self.prefix
            ),
        }
    }
}

/// Storage options split into the store's own keys and ours.
#[derive(Debug, Default)]
struct Options {
    store: BTreeMap<String, String>,
    retry: RetryConfig,
    bearer_token: Option<String>,
}

fn split_options(options: &[(String, String)]) -> Result<Options, SinkError> {
    let mut out = Options::default();
    for (key, value) in options {
        let bad = |why: String| SinkError::Option {
            key: key.clone(),
            reason: why,
        };
        match key.to_ascii_lowercase().as_str() {
            "max_retries" => {
                out.retry.max_retries = value
                    .parse()
                    .map_err(|_| bad("expected a whole number".into()))?
            }
            "retry_timeout" => out.retry.retry_timeout = parse_duration(value).map_err(bad)?,
            "bearer_token" | "google_bearer_token" => out.bearer_token = Some(value.clone()),
            _ => {
                out.store.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(out)
}

/// `30s`, `500ms`, `5min`, `1h`, or a number of seconds (for `retry_timeout`, and for the
/// command line's other durations).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration such as 30s or 5min"))?;
    Ok(match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => {
            return Err(format!(
                "unknown duration unit \"{other}\": use ms, s, min or h"
            ));
        }
    })
}

/// Parses a store key, or names the scheme in the error.
fn config_key<K: FromStr>(scheme: Scheme, key: &str) -> Result<K, SinkError> {
    K::from_str(key).map_err(|_| SinkError::Option {
        key: key.to_string(),
        reason: format!(
            "not a {} option (see object_store's {} configuration keys, or max_retries / retry_timeout)",
            scheme.url_scheme(),
            match scheme {
                Scheme::Gcs => "GoogleConfigKey",
                Scheme::Azure => "AzureConfigKey",
                _ => "AmazonS3ConfigKey",
            }
        ),
    })
}

/// Reads an environment variable (injectable for tests).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The S3 builder for `s3://` (AWS_* variables, then options).
pub fn s3_builder(
    location: &OutputLocation,
    options: &[(String, String)],
) -> Result<AmazonS3Builder, SinkError> {
    let split = split_options(options)?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket);
    for (key, value) in &split.store {
        builder = builder.with_config(config_key::<AmazonS3ConfigKey>(Scheme::S3, key)?, value);
    }
    Ok(builder.with_retry(split.retry))
}

/// The S3 builder for `oss://`: Aliyun OSS's S3-compatible API, which takes only
/// virtual-hosted-style requests. `OSS_ACCESS_KEY_ID`, `OSS_ACCESS_KEY_SECRET` (or
/// `OSS_SECRET_ACCESS_KEY`), `OSS_SESSION_TOKEN`, `OSS_REGION` and `OSS_ENDPOINT` are read from
/// the environment, then options (S3 keys) apply. Without an endpoint it is
/// `https://<bucket>.oss-<region>.aliyuncs.com`; object_store uses a virtual-hosted endpoint
/// verbatim, so a custom endpoint must already name the bucket.
pub fn oss_builder(
    location: &OutputLocation,
    options: &[(String, String)],
    env: EnvLookup<'_>,
) -> Result<AmazonS3Builder, SinkError> {
    let split = split_options(options)?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&location.bucket)
        .with_virtual_hosted_style_request(true);
    let from_env = [
        (AmazonS3ConfigKey::AccessKeyId, &["OSS_ACCESS_KEY_ID"][..]),
        (
            AmazonS3ConfigKey::SecretAccessKey,
            &["OSS_ACCESS_KEY_SECRET", "OSS_SECRET_ACCESS_KEY"][..],
        ),
        (AmazonS3ConfigKey::Token, &["OSS_SESSION_TOKEN"][..]),
        (AmazonS3ConfigKey::Region, &["OSS_REGION"][..]),
        (AmazonS3ConfigKey::Endpoint, &["OSS_ENDPOINT"][..]),
    ];
    for (key, names) in from_env {
        if let Some(value) = names.iter().find_map(|name| env(name)) {
            builder = builder.with_config(key, value);
        }
    }
    for (key, value) in &split.store {
        builder = builder.with_config(config_key::<AmazonS3ConfigKey>(Scheme::Oss, key)?, value);
    }
    let region = builder.get_config_value(&AmazonS3ConfigKey::Region);
    if builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_none()
    {
        let Some(region) = region else {
            return Err(SinkError::Location {
                output: location.root_url(),
                reason: "OSS needs a region: set OSS_REGION (e.g. cn-hangzhou) or the storage option region, or give an endpoint".into(),
            });
        };
        builder = builder.with_endpoint(format!(
            "https://{}.oss-{region}.aliyuncs.com",
            location.bucket
        ));
    }
    Ok(builder.with_retry(split.retry))
}

/// The GCS builder for `gs://` (GOOGLE_* variables, then options).
pub fn gcs_builder(
    location: &OutputLocation,
    options: &[(String, String)],
) -> Result<GoogleCloudStorageBuilder, SinkError> {
    let split = split_options(options)?;
    let mut builder = GoogleCloudStorageBuilder::from_env().with_bucket_name(&location.bucket);
    for (key, value) in &split.store {
        builder = builder.with_config(config_key::<GoogleConfigKey>(Scheme::Gcs, key)?, value);
    }
    if let Some(token) = split.bearer_token {
        let credential = GcpCredential { bearer: token };
        builder = builder.with_credentials(Arc::new(StaticCredentialProvider::new(credential)));
    }
    Ok(builder.with_retry(split.retry))
}

/// The Azure builder for `az://` (AZURE_* variables, then options).
pub fn azure_builder(
    location: &OutputLocation,
    options: &[(String, String)],
) -> Result<MicrosoftAzureBuilder, SinkError> {
    let split = split_options(options)?;
    let mut builder = MicrosoftAzureBuilder::from_env().with_container_name(&location.bucket);
    for (key, value) in &split.store {
        builder = builder.with_config(config_key::<AzureConfigKey>(Scheme::Azure, key)?, value);
    }
    Ok(builder.with_retry(split.retry))
}

/// Opens the store an output names. Local directories are created (with their parents).
pub fn open_store(
    location: &OutputLocation,
    options: &[(String, String)],
) -> Result<Arc<dyn ObjectStore>, SinkError> {
    let build_error = |source| SinkError::Store {
        output: location.root_url(),
        source,
    };
    Ok(match location.scheme {
        Scheme::Local => {
            if let Some((key, _)) = options.first() {
                return Err(SinkError::Option {
                    key: key.clone(),
                    reason: "storage options apply only to remote outputs".into(),
                });
            }
            Arc::new(local_store(Path::new(&location.bucket))?.0)
        }
        Scheme::S3 => {
            let builder = s3_builder(location, options)?;
            check_endpoint(builder.get_config_value(&AmazonS3ConfigKey::Endpoint))?;
            Arc::new(builder.build().map_err(build_error)?)
        }
        Scheme::Oss => {
            let builder = oss_builder(location, options, &process_env)?;
            check_endpoint(builder.get_config_value(&AmazonS3ConfigKey::Endpoint))?;
            Arc::new(builder.build().map_err(build_error)?)
        }
        Scheme::Gcs => Arc::new(
            gcs_builder(location, options)?
                .build()
                .map_err(build_error)?,
        ),
        Scheme::Azure => {
            let builder = azure_builder(location, options)?;
            check_endpoint(builder.get_config_value(&AzureConfigKey::Endpoint))?;
            Arc::new(builder.build().map_err(build_error)?)
        }
    })
}

/// Refuses an endpoint (from the options or the environment) that is not an absolute http or
/// https URL with a host: object_store would panic on it at the first request. The value is
/// described, not shown, as it may carry credentials.
fn check_endpoint(endpoint: Option<String>) -> Result<(), SinkError> {
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let endpoint = endpoint.trim();
    // An http or https URL always has a host: the url crate refuses one without.
    let reason = match url::Url::parse(endpoint) {
        _ if endpoint.is_empty() => "it is empty".to_string(),
        Err(url::ParseError::RelativeUrlWithoutBase) => "it has no scheme".to_string(),
        Err(e) => format!("it is not a URL ({e})"),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            format!("its scheme is {}, not http or https", url.scheme())
        }
        Ok(_) => return Ok(()),
    };
    Err(SinkError::Option {
        key: "endpoint".into(),
        reason: format!("{reason}: give an http:// or https:// URL, such as http://127.0.0.1:9000"),
    })
}

/// A local directory as a store, and its absolute path.
pub(crate) fn local_store(dir: &Path) -> Result<(LocalFileSystem, PathBuf), SinkError> {
    let io_err = |source| SinkError::OutputDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let absolute = std::fs::canonicalize(dir).map_err(io_err)?;
    // A folder emptied by deletes (a failed run's) goes too, as it would in a bucket.
    let store = LocalFileSystem::new_with_prefix(&absolute)
        .map_err(|source| SinkError::Store {
            output: absolute.display().to_string(),
            source,
        })?
        .with_automatic_cleanup(true);
    Ok((store, absolute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_one_slash_is_refused_not_taken_for_a_folder() {
        for output in ["s3:/bucket/x", "gs:bucket", "AZ:/c/p", "oss:/b"] {
            let error = OutputLocation::parse(output).unwrap_err().to_string();
            assert!(error.contains("needs two slashes"), "{output}: {error}");
        }
        assert!(
            OutputLocation::parse("s3://bucket/x").unwrap().scheme == Scheme::S3
                && OutputLocation::parse("out:1").unwrap().scheme == Scheme::Local
        );
        let error = OutputLocation::parse("s3:/bucket/x")
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("s3://bucket/x"), "{error}");
    }

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn outputs_parse_into_scheme_bucket_and_prefix() {
        let cases = [
            ("out", Scheme::Local, "out", ""),
            ("file:///tmp/out", Scheme::Local, "/tmp/out", ""),
            ("s3://bucket", Scheme::S3, "bucket", ""),
            ("s3://bucket/a/b/", Scheme::S3, "bucket", "a/b"),
            ("gs://bucket/x", Scheme::Gcs, "bucket", "x"),
            ("az://container/x/y", Scheme::Azure, "container", "x/y"),
            ("azure://container", Scheme::Azure, "container", ""),
            ("oss://bucket/p", Scheme::Oss, "bucket", "p"),
        ];
        for (output, scheme, bucket, prefix) in cases {
            let location = OutputLocation::parse(output).unwrap();
            assert_eq!(
                location,
                OutputLocation {
                    scheme,
                    bucket: bucket.into(),
                    prefix: prefix.into()
                },
                "{output}"
            );
        }
        assert_eq!(
            OutputLocation::parse("s3://bucket/a/b/")
                .unwrap()
                .root_url(),
            "s3://bucket/a/b"
        );
        for bad in [
            "ftp://x/y",
            "s3://",
            "s3:///prefix",
            "s3://user:secret@bucket/p",
            "s3://bucket/a//b",
            "s3://bucket/a/../b",
        ] {
            assert!(OutputLocation::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_endpoint_that_is_not_an_http_url_is_refused_before_object_store_panics_on_it() {
        let endpoint = |value: &str| -> String {
            let location = OutputLocation::parse("s3://bucket/p").unwrap();
            let options = opts(&[
                ("endpoint", value),
                ("access_key_id", "k"),
                ("secret_access_key", "s"),
            ]);
            match open_store(&location, &options) {
                Ok(_) => "accepted".into(),
                Err(e) => e.to_string(),
            }
        };
        for (value, reason) in [
            ("", "it is empty"),
            ("localhost:9000", "its scheme is localhost"),
            ("127.0.0.1:9000", "it has no scheme"),
            ("ftp://host", "its scheme is ftp"),
            ("http://", "it is not a URL (empty host)"),
        ] {
            let text = endpoint(value);
            assert!(
                text.starts_with("storage option 'endpoint': ") && text.contains(reason),
                "{value:?}: {text}"
            );
        }
        assert_eq!(endpoint("http://127.0.0.1:9000"), "accepted");
        let location = OutputLocation::parse("az://container/p").unwrap();
        let options = opts(&[
            ("endpoint", "localhost:10000"),
            ("account_name", "a"),
            ("access_key", "YQ=="),
        ]);
        let text = open_store(&location, &options).err().unwrap().to_string();
        assert!(text.contains("its scheme is localhost"), "{text}");
    }

    #[test]
    fn unknown_options_are_errors_and_do_not_echo_values() {
        let location = OutputLocation::parse("s3://bucket/p").unwrap();
        let err = s3_builder(&location, &opts(&[("acess_key_id", "SECRETVALUE")])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("acess_key_id") && !text.contains("SECRETVALUE"),
            "{text}"
        );
        let location = OutputLocation::parse("gs://bucket/p").unwrap();
        assert!(gcs_builder(&location, &opts(&[("region", "x")])).is_err());
        let location = OutputLocation::parse("az://c/p").unwrap();
        assert!(azure_builder(&location, &opts(&[("bucket_name", "x")])).is_err());
        assert!(s3_builder(&location, &opts(&[("retry_timeout", "soon")])).is_err());
    }

    #[test]
    fn s3_options_reach_the_builder() {
        let location = OutputLocation::parse("s3://bucket/p").unwrap();
        let builder = s3_builder(
            &location,
            &opts(&[
                ("endpoint", "http://127.0.0.1:9000"),
                ("region", "eu-west-1"),
                ("aws_access_key_id", "AK"),
                ("virtual_hosted_style_request", "true"),
            ]),
        )
        .unwrap();
        let get = |k| builder.get_config_value(&k);
        assert_eq!(get(AmazonS3ConfigKey::Bucket).as_deref(), Some("bucket"));
        assert_eq!(
            get(AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(get(AmazonS3ConfigKey::Region).as_deref(), Some("eu-west-1"));
        assert_eq!(get(AmazonS3ConfigKey::AccessKeyId).as_deref(), Some("AK"));
        assert_eq!(
            get(AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref(),
            Some("true")
        );
    }

    #[test]
    fn oss_uses_the_virtual_hosted_bucket_endpoint_of_its_region() {
        let location = OutputLocation::parse("oss://my-bucket/p").unwrap();
        let env = |name: &str| match name {
            "OSS_ACCESS_KEY_ID" => Some("LTAIxx".to_string()),
            "OSS_ACCESS_KEY_SECRET" => Some("secret".to_string()),
            "OSS_REGION" => Some("cn-hangzhou".to_string()),
            _ => None,
        };
        let builder = oss_builder(&location, &[], &env).unwrap();
        let get = |k| builder.get_config_value(&k);
        assert_eq!(
            get(AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("https://my-bucket.oss-cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(
            get(AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref(),
            Some("true")
        );
        assert_eq!(
            get(AmazonS3ConfigKey::Region).as_deref(),
            Some("cn-hangzhou")
        );
        assert_eq!(
            get(AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("LTAIxx")
        );
        assert_eq!(
            get(AmazonS3ConfigKey::SecretAccessKey).as_deref(),
            Some("secret")
        );

        // An option overrides the environment; an explicit endpoint is kept verbatim.
        let builder = oss_builder(
            &location,
            &opts(&[
                ("endpoint", "https://my-bucket.example.com"),
                ("region", "cn-beijing"),
            ]),
            &env,
        )
        .unwrap();
        assert_eq!(
            builder
                .get_config_value(&AmazonS3ConfigKey::Endpoint)
                .as_deref(),
            Some("https://my-bucket.example.com")
        );
        assert_eq!(
            builder
                .get_config_value(&AmazonS3ConfigKey::Region)
                .as_deref(),
            Some("cn-beijing")
        );

        // No region and no endpoint: a clear error.
        let none = |_: &str| None;
        let err = oss_builder(&location, &[], &none).unwrap_err().to_string();
        assert!(err.contains("OSS_REGION"), "{err}");
    }

    #[test]
    fn gcs_and_azure_options_reach_the_builders() {
        let location = OutputLocation::parse("gs://bucket/p").unwrap();
        let builder = gcs_builder(
            &location,
            &opts(&[
                ("google_service_account", "/tmp/sa.json"),
                ("bearer_token", "ya29.token"),
            ]),
        )
        .unwrap();
        assert_eq!(
            builder
                .get_config_value(&GoogleConfigKey::ServiceAccount)
                .as_deref(),
            Some("/tmp/sa.json")
        );
        assert_eq!(
            builder
                .get_config_value(&GoogleConfigKey::Bucket)
                .as_deref(),
            Some("bucket")
        );
        let location = OutputLocation::parse("az://container/p").unwrap();
        let builder = azure_builder(
            &location,
            &opts(&[
                ("account_name", "acct"),
                ("endpoint", "http://127.0.0.1:10000/acct"),
            ]),
        )
        .unwrap();
        assert_eq!(
            builder
                .get_config_value(&AzureConfigKey::AccountName)
                .as_deref(),
            Some("acct")
        );
        assert_eq!(
            builder
                .get_config_value(&AzureConfigKey::ContainerName)
                .as_deref(),
            Some("container")
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
    }
}
