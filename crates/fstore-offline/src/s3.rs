//! Offline roots on S3 and S3-compatible services (`s3://bucket/prefix`): the storage options
//! fstore hands to deltalake/object_store, and the checks that turn a bad setup into one clear
//! message before anything is written — no credentials, a missing bucket, access denied, an
//! unreachable endpoint, or a service whose conditional writes cannot be relied on.
//!
//! Credentials come from the standard AWS chain (environment, profile, web identity, container
//! and instance roles, resolved by deltalake/object_store) or, given [`S3Credentials`], from a
//! secret scope. deltalake's own `AWS_*` environment variables keep working: options set here win
//! over them only for the keys fstore sets.
//!
//! Concurrent commits: deltalake 1.x commits a version by writing `_delta_log/<v>.json` with
//! `If-None-Match: *` (object_store's conditional put), so two writers can never both create the
//! same version — provided the service honours that header. AWS S3 does; for any other endpoint
//! fstore checks once per process, before its first commit, by creating a probe object twice
//! (see [`S3Root::check_commits_are_safe`]), and refuses to commit where the second create is
//! not refused, unless the user opted in (`allow_unsafe_commits` or deltalake's
//! `AWS_S3_ALLOW_UNSAFE_RENAME=true`).

use std::collections::HashMap;
use std::path::PathBuf;

use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{
    self, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use deltalake::logstore::{ObjectStoreRef, store_for};
use url::Url;

use crate::error::{Error, Result};

/// Access keys read from a secret scope. `Debug` shows neither value.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Credentials { .. }")
    }
}

/// The `[offline]` settings that apply to an `s3://` root.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    /// AWS region (else `AWS_REGION`/`AWS_DEFAULT_REGION`, else the profile's, else us-east-1).
    pub region: Option<String>,
    /// A custom endpoint for S3-compatible services, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// Allow plain HTTP to `endpoint`.
    pub allow_http: bool,
    /// Keys from a secret scope; `None` uses the AWS credential chain.
    pub credentials: Option<S3Credentials>,
    /// Where the credentials came from, for messages (e.g. `secret scope s3_writer/s3`).
    pub credentials_source: Option<String>,
    /// Commit without proof that the service honours conditional writes.
    pub allow_unsafe_commits: bool,
}

/// Storage option keys (object_store's names; deltalake reads the same ones).
const OPT_REGION: &str = "aws_region";
const OPT_ENDPOINT: &str = "aws_endpoint";
const OPT_ALLOW_HTTP: &str = "aws_allow_http";
const OPT_ACCESS_KEY_ID: &str = "aws_access_key_id";
const OPT_SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
const OPT_SESSION_TOKEN: &str = "aws_session_token";
/// deltalake: resolve credentials through the AWS SDK chain even with a custom endpoint.
const OPT_FORCE_CREDENTIAL_LOAD: &str = "AWS_FORCE_CREDENTIAL_LOAD";
/// deltalake's opt-out of concurrent-writer safety, honoured as fstore's opt-in too.
const ENV_ALLOW_UNSAFE_RENAME: &str = "AWS_S3_ALLOW_UNSAFE_RENAME";
const ENV_LOCKING_PROVIDER: &str = "AWS_S3_LOCKING_PROVIDER";

/// True for the URL schemes served by the S3 handlers.
pub(crate) fn is_s3(url: &Url) -> bool {
    matches!(url.scheme(), "s3" | "s3a")
}

/// Registers deltalake's S3 object-store and log-store factories (idempotent). deltalake also
/// does this from a constructor function; doing it explicitly does not depend on link order.
pub(crate) fn register_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| deltalake::aws::register_handlers(None));
}

/// The storage options for `settings`, on top of `base` (explicit options win over settings).
pub(crate) fn storage_options(
    settings: &S3Settings,
    base: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut opts = HashMap::new();
    if let Some(r) = &settings.region {
        opts.insert(OPT_REGION.to_string(), r.clone());
    }
    if let Some(e) = &settings.endpoint {
        opts.insert(
            OPT_ENDPOINT.to_string(),
            e.trim_end_matches('/').to_string(),
        );
    }
    if settings.allow_http {
        opts.insert(OPT_ALLOW_HTTP.to_string(), "true".to_string());
    }
    if let Some(c) = &settings.credentials {
        opts.insert(OPT_ACCESS_KEY_ID.to_string(), c.access_key_id.clone());
        opts.insert(
            OPT_SECRET_ACCESS_KEY.to_string(),
            c.secret_access_key.clone(),
        );
        if let Some(t) = &c.session_token {
            opts.insert(OPT_SESSION_TOKEN.to_string(), t.clone());
        }
    }
    opts.extend(base);
    opts
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// Looks an option up the way object_store does: by any spelling of its key, then in the
/// environment.
fn lookup(opts: &HashMap<String, String>, names: &[&str]) -> Option<String> {
    for (k, v) in opts {
        let k = k.to_ascii_lowercase();
        if names.iter().any(|n| n.eq_ignore_ascii_case(&k)) && !v.trim().is_empty() {
            return Some(v.clone());
        }
    }
    names
        .iter()
        .filter(|n| n.starts_with("aws_"))
        .find_map(|n| env(&n.to_ascii_uppercase()))
}

/// One `s3://` root: its bucket and prefix, the effective endpoint, and the store used for the
/// up-front checks.
#[derive(Clone)]
pub(crate) struct S3Root {
    url: Url,
    /// A custom endpoint (from the options or `AWS_ENDPOINT_URL`); `None` is AWS S3 itself.
    endpoint: Option<String>,
    credentials_source: String,
    allow_unsafe_commits: bool,
    /// Built like the main store but failing fast (no retries, short connect timeout), so a
    /// dead endpoint is reported in seconds rather than after minutes of back-off.
    /// Prefixed with the root's path, like the main store.
    probe_store: ObjectStoreRef,
    checked: std::sync::Arc<tokio::sync::OnceCell<()>>,
    commits_checked: std::sync::Arc<tokio::sync::OnceCell<()>>,
}

impl S3Root {
    /// Validates the settings that need no network, completes the options (how credentials are
    /// resolved) and builds the probe store.
    pub(crate) fn new(
        url: &Url,
        opts: &mut HashMap<String, String>,
        settings: &S3Settings,
    ) -> Result<Self> {
        register_handlers();
        let root = url.as_str().to_string();
        let bad = |reason: String| Error::InvalidRoot {
            root: root.clone(),
            reason,
        };
        let bucket = url.host_str().unwrap_or_default();
        if bucket.is_empty() {
            return Err(bad(
                "it names no bucket; write it as s3://<bucket>/<prefix>".into(),
            ));
        }
        let endpoint = lookup(
            opts,
            &[
                "aws_endpoint",
                "aws_endpoint_url",
                "endpoint",
                "endpoint_url",
                "aws_endpoint_url_s3",
            ],
        );
        if let Some(e) = &endpoint {
            let parsed = Url::parse(e).map_err(|err| {
                bad(format!(
                    "the endpoint `{e}` is not a URL ({err}); write it like https://s3.example.com or http://127.0.0.1:9000"
                ))
            })?;
            let http_allowed =
                lookup(opts, &["aws_allow_http", "allow_http"]).is_some_and(|v| truthy(&v));
            if parsed.scheme() == "http" && !http_allowed {
                return Err(bad(format!(
                    "the endpoint {e} is plain HTTP; set `allow_http = true` in [offline] (meant for a local test server) or use https"
                )));
            }
            if parsed.scheme() == "http" && !is_loopback(&parsed) {
                tracing::warn!(endpoint = %e, "plain HTTP to a non-loopback S3 endpoint: data travels unencrypted");
            }
        }
        if let Some(p) = env(ENV_LOCKING_PROVIDER) {
            tracing::warn!(
                provider = %p,
                "{ENV_LOCKING_PROVIDER} is ignored by deltalake 1.x; commits are protected by S3 conditional writes instead"
            );
        }

        let static_keys = lookup(opts, &["aws_access_key_id", "access_key_id"]).is_some()
            && lookup(opts, &["aws_secret_access_key", "secret_access_key"]).is_some();
        let credentials_source = match (&settings.credentials_source, static_keys) {
            (Some(s), _) => s.clone(),
            (None, true) => "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_string(),
            (None, false) => "the AWS credential chain".to_string(),
        };
        if endpoint.is_some() && !static_keys {
            // With a custom endpoint deltalake leaves credentials to object_store, which knows
            // no profiles and would fall back to the EC2 instance metadata service. Route every
            // other source through the AWS SDK chain instead, and refuse when there is none.
            if other_credential_sources().is_empty()
                && lookup(opts, &[OPT_FORCE_CREDENTIAL_LOAD]).is_none()
                && env(OPT_FORCE_CREDENTIAL_LOAD).is_none()
            {
                return Err(Error::S3NoCredentials {
                    location: display(url),
                    endpoint: endpoint.clone().unwrap_or_default(),
                });
            }
            opts.entry(OPT_FORCE_CREDENTIAL_LOAD.to_string())
                .or_insert_with(|| "true".to_string());
        }

        let mut probe_opts = opts.clone();
        probe_opts.insert("max_retries".into(), "0".into());
        probe_opts.insert("connect_timeout".into(), "5s".into());
        let probe_store = store_for(url, &probe_opts).map_err(|e| bad(e.to_string()))?;
        let allow_unsafe_commits = settings.allow_unsafe_commits
            || env(ENV_ALLOW_UNSAFE_RENAME).is_some_and(|v| truthy(&v))
            || lookup(opts, &["aws_s3_allow_unsafe_rename"]).is_some_and(|v| truthy(&v));
        Ok(Self {
            url: url.clone(),
            endpoint,
            credentials_source,
            allow_unsafe_commits,
            probe_store,
            checked: Default::default(),
            commits_checked: Default::default(),
        })
    }

    fn bucket(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    fn endpoint_display(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| "AWS S3".to_string())
    }

    /// One listing of the root: tells a missing bucket, denied access, missing credentials and
    /// an unreachable endpoint apart before any command reads or writes. Runs once per process.
    pub(crate) async fn check_reachable(&self) -> Result<()> {
        self.checked
            .get_or_try_init(|| async {
                match self.probe_store.list_with_delimiter(None).await {
                    Ok(_) => Ok(()),
                    Err(e) => Err(self.classify(&e).unwrap_or_else(|| Error::Storage {
                        context: format!("listing {}", display(&self.url)),
                        source: e,
                    })),
                }
            })
            .await
            .map(|_| ())
    }

    /// A specific error for a storage failure under this root, when it is one of the setup
    /// problems users can fix.
    pub(crate) fn classify(&self, e: &(dyn std::error::Error + 'static)) -> Option<Error> {
        classify(
            e,
            &self.url,
            self.bucket(),
            &self.endpoint_display(),
            &self.credentials_source,
        )
    }

    /// Before the first commit: proves that the service refuses to create an object that already
    /// exists (the guarantee deltalake's commits rely on), unless the user opted out.
    pub(crate) async fn check_commits_are_safe(&self) -> Result<()> {
        self.check_reachable().await?;
        if self.allow_unsafe_commits {
            tracing::warn!(root = %display(&self.url), "allow_unsafe_commits: concurrent writers may lose commits");
            return Ok(());
        }
        self.commits_checked
            .get_or_try_init(|| self.probe_conditional_put())
            .await
            .map(|_| ())
    }

    async fn probe_conditional_put(&self) -> Result<()> {
        // AWS S3 has honoured If-None-Match on PUT since 2024; only other services are probed.
        if self.endpoint.is_none() {
            return Ok(());
        }
        let nonce = uuid_like();
        let path = ObjectPath::from_iter([
            "_fstore".to_string(),
            format!("conditional-write-check-{nonce}"),
        ]);
        let create = || PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let storage = |e: object_store::Error| {
            self.classify(&e).unwrap_or_else(|| Error::Storage {
                context: format!("checking conditional writes under {}", display(&self.url)),
                source: e,
            })
        };
        let unsafe_err = |why: String| Error::S3UnsafeCommits {
            location: display(&self.url),
            endpoint: self.endpoint_display(),
            why,
        };
        match self
            .probe_store
            .put_opts(&path, PutPayload::from_static(b"1"), create())
            .await
        {
            Ok(_) => {}
            Err(object_store::Error::NotImplemented { .. }) => {
                return Err(unsafe_err(
                    "conditional writes are disabled (`conditional_put = disabled` in the storage options or AWS_CONDITIONAL_PUT); remove that setting".into(),
                ));
            }
            Err(e) => return Err(storage(e)),
        }
        let second = self
            .probe_store
            .put_opts(&path, PutPayload::from_static(b"2"), create())
            .await;
        let _ = self.probe_store.delete(&path).await;
        match second {
            Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Ok(_) => Err(unsafe_err(
                "it accepted a second create of the same object (If-None-Match: * was ignored)"
                    .into(),
            )),
            Err(e) => Err(storage(e)),
        }
    }
}

/// Sources of the AWS chain other than static keys that are visible without a network call.
fn other_credential_sources() -> Vec<&'static str> {
    let mut found = Vec::new();
    for key in [
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        if env(key).is_some() {
            found.push(key);
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)))
            .is_some_and(|p| p.is_file())
    };
    if file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials") {
        found.push("shared credentials file");
    }
    if file("AWS_CONFIG_FILE", ".aws/config") {
        found.push("AWS config file");
    }
    found
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn display(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// A random-enough name for the probe object (two processes probing at once must not collide).
fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Maps a storage failure on `url` to one of the setup errors, by the HTTP status object_store
/// reports and S3's error codes in its message.
pub(crate) fn classify(
    e: &(dyn std::error::Error + 'static),
    url: &Url,
    bucket: &str,
    endpoint: &str,
    credentials_source: &str,
) -> Option<Error> {
    let mut text = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        text.push_str(&err.to_string());
        text.push('\n');
        cur = err.source();
    }
    let location = display(url);
    let has = |needle: &str| text.contains(needle);
    if has("NoSuchBucket") {
        return Some(Error::S3NoSuchBucket {
            bucket: bucket.to_string(),
            location,
            endpoint: endpoint.to_string(),
        });
    }
    if has("AccessDenied")
        || has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("InvalidToken")
        || has("ExpiredToken")
        || has("403 Forbidden")
        || has("status: 403")
    {
        let code = [
            "AccessDenied",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "InvalidToken",
            "ExpiredToken",
        ]
        .into_iter()
        .find(|c| has(c))
        .unwrap_or("403 Forbidden");
        return Some(Error::S3AccessDenied {
            location,
            code: code.to_string(),
            credentials: credentials_source.to_string(),
            bucket: bucket.to_string(),
        });
    }
    if has("no providers in chain provided credentials")
        || has("CredentialsNotLoaded")
        || has("failed to load credentials")
        || has("the credential provider was not enabled")
    {
        return Some(Error::S3NoCredentials {
            location,
            endpoint: endpoint.to_string(),
        });
    }
    if has("error sending request")
        || has("Connection refused")
        || has("connection refused")
        || has("dns error")
        || has("tcp connect error")
        || has("operation timed out")
        || has("client error (Connect)")
    {
        return Some(Error::S3Unreachable {
            location,
            endpoint: endpoint.to_string(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_settings_and_keep_explicit_ones() {
        let settings = S3Settings {
            region: Some("eu-west-1".into()),
            endpoint: Some("http://127.0.0.1:9000/".into()),
            allow_http: true,
            credentials: Some(S3Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "sekrit".into(),
                session_token: None,
            }),
            ..Default::default()
        };
        let base = HashMap::from([("aws_region".to_string(), "us-west-2".to_string())]);
        let opts = storage_options(&settings, base);
        assert_eq!(opts["aws_region"], "us-west-2");
        assert_eq!(opts["aws_endpoint"], "http://127.0.0.1:9000");
        assert_eq!(opts["aws_allow_http"], "true");
        assert_eq!(opts["aws_secret_access_key"], "sekrit");
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "sekrit".into(),
            session_token: Some("tok".into()),
        };
        let d = format!("{c:?}");
        assert!(
            !d.contains("sekrit") && !d.contains("tok") && !d.contains("AKID"),
            "{d}"
        );
    }

    #[test]
    fn setup_failures_are_classified() {
        let url = Url::parse("s3://b/p/").unwrap();
        let io = |m: &str| std::io::Error::other(m.to_string());
        let c = |m: &str| classify(&io(m), &url, "b", "http://x", "chain");
        assert!(matches!(
            c("<Code>NoSuchBucket</Code>"),
            Some(Error::S3NoSuchBucket { .. })
        ));
        assert!(matches!(
            c("<Code>AccessDenied</Code>"),
            Some(Error::S3AccessDenied { .. })
        ));
        assert!(matches!(
            c("error sending request: tcp connect error: Connection refused"),
            Some(Error::S3Unreachable { .. })
        ));
        assert!(c("something else").is_none());
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback(&Url::parse("http://127.0.0.1:9000").unwrap()));
        assert!(is_loopback(&Url::parse("http://localhost:9000").unwrap()));
        assert!(!is_loopback(&Url::parse("http://10.0.0.1:9000").unwrap()));
    }
}
