//! A small client for `fstore serve`: table lookups and feature-vector lookups over HTTP/JSON.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fstore_client::Error> {
//! use serde_json::json;
//! let client = fstore_client::Client::new("http://127.0.0.1:8080", None)?;
//! let r = client
//!     .lookup("default.titanic", &[json!({"PassengerId": 1})], Some(&["Age"]))
//!     .await?;
//! println!("{:?}", r.results[0]);
//! # Ok(()) }
//! ```
//!
//! Values come back as `serde_json::Value`, typed as the server maps them (integers as
//! integers, decimals as strings, timestamps as RFC 3339 strings, binary as base64).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as J};

/// What can go wrong calling the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL cannot be used.
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The server answered with an error status; `message` is its `{"error": ...}` text.
    #[error("the server answered {status}: {message}")]
    Status { status: u16, message: String },
    /// The request did not get an answer (connection refused, timeout, ...).
    #[error("request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer is not the expected JSON.
    #[error("unexpected response from the server: {0}")]
    Decode(String),
}

impl Error {
    /// The HTTP status, when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One feature table of a vector lookup (Databricks' `FeatureLookup`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureLookup {
    /// `<schema>.<table>` or an online table name.
    pub table: String,
    /// Row fields holding the key, mapped to primary keys by position.
    pub lookup_key: Vec<String>,
    /// Features to return (`None`: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Feature → output name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rename: BTreeMap<String, String>,
}

impl FeatureLookup {
    pub fn new(table: impl Into<String>, lookup_key: &[&str]) -> Self {
        Self {
            table: table.into(),
            lookup_key: lookup_key.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    pub fn features(mut self, features: &[&str]) -> Self {
        self.features = Some(features.iter().map(|s| s.to_string()).collect());
        self
    }

    pub fn rename(mut self, feature: &str, output: &str) -> Self {
        self.rename.insert(feature.into(), output.into());
        self
    }
}

/// A feature column in response metadata.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FeatureInfo {
    pub name: String,
    /// fstore type name: `bigint`, `double`, `decimal(10,2)`, `timestamp`, ...
    #[serde(rename = "type")]
    pub ftype: String,
    /// Vector lookups: the table it came from.
    #[serde(default)]
    pub table: Option<String>,
    /// Vector lookups: the feature's name in its table (before `rename`).
    #[serde(default)]
    pub feature: Option<String>,
}

/// Metadata of a table lookup.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TableMetadata {
    pub feature_table: String,
    pub online_table: String,
    pub delta_version: i64,
    pub primary_keys: Vec<String>,
    pub features: Vec<FeatureInfo>,
}

/// The answer to [`Client::lookup`]: one entry per key, `None` when the key is not online.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TableLookup {
    pub results: Vec<Option<Map<String, J>>>,
    pub metadata: TableMetadata,
}

/// A table used by a vector lookup.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TableInfo {
    pub table: String,
    pub feature_table: String,
    pub online_table: String,
    pub delta_version: i64,
}

/// Metadata of a vector lookup.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VectorMetadata {
    pub features: Vec<FeatureInfo>,
    pub tables: Vec<TableInfo>,
}

/// The answer to [`Client::lookup_vectors`]: each request row merged with its features.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct VectorLookup {
    pub results: Vec<Map<String, J>>,
    pub metadata: VectorMetadata,
}

/// A client for one `fstore serve` server. Cheap to clone; reuses connections. Its `Debug`
/// output never shows the bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`), sending `token` as a
    /// bearer token when given. Requests time out after 30 s ([`Client::with_timeout`]).
    pub fn new(base_url: &str, token: Option<String>) -> Result<Self, Error> {
        Self::with_timeout(base_url, token, Duration::from_secs(30))
    }

    pub fn with_timeout(
        base_url: &str,
        token: Option<String>,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let bad = |reason: String| Error::InvalidUrl {
            url: base_url.to_string(),
            reason,
        };
        let base = url::Url::parse(base_url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(bad("use http://host:port or https://host:port".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tcp_nodelay(true)
            // Below `fstore serve`'s idle timeout (`--header-timeout-secs`, 30 s by default), so
            // the pool drops an idle connection before the server closes it, instead of racing
            // the server's close with a new request.
            .pool_idle_timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self { http, base, token })
    }

    fn url(&self, segments: &[&str]) -> url::Url {
        let mut u = self.base.clone();
        if let Ok(mut path) = u.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        u
    }

    async fn post<B: Serialize, R: for<'de> Deserialize<'de>>(
        &self,
        url: url::Url,
        body: &B,
    ) -> Result<R, Error> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?;
        let mut req = self
            .http
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|source| Error::Transport {
            url: url.to_string(),
            source,
        })?;
        read(url, resp).await
    }

    /// Looks up `keys` (objects: primary-key column → value) in `table`; `features = None`
    /// returns every feature.
    pub async fn lookup(
        &self,
        table: &str,
        keys: &[J],
        features: Option<&[&str]>,
    ) -> Result<TableLookup, Error> {
        let body = match features {
            Some(f) => serde_json::json!({"keys": keys, "features": f}),
            None => serde_json::json!({"keys": keys}),
        };
        self.post(self.url(&["v1", "feature-tables", table, "lookup"]), &body)
            .await
    }

    /// Looks up several tables for each row and returns the rows merged with their features.
    pub async fn lookup_vectors(
        &self,
        rows: &[J],
        lookups: &[FeatureLookup],
    ) -> Result<VectorLookup, Error> {
        let body = serde_json::json!({"rows": rows, "lookups": lookups});
        self.post(self.url(&["v1", "feature-vectors", "lookup"]), &body)
            .await
    }

    /// `GET /readyz`: `Ok(())` when the server can reach its database.
    pub async fn ready(&self) -> Result<(), Error> {
        self.get("readyz").await
    }

    /// `GET /healthz`: `Ok(())` when the server process answers.
    pub async fn healthy(&self) -> Result<(), Error> {
        self.get("healthz").await
    }

    async fn get(&self, path: &str) -> Result<(), Error> {
        let url = self.url(&[path]);
        let resp = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|source| Error::Transport {
                url: url.to_string(),
                source,
            })?;
        read::<J>(url, resp).await.map(|_| ())
    }
}

async fn read<R: for<'de> Deserialize<'de>>(
    url: url::Url,
    resp: reqwest::Response,
) -> Result<R, Error> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|source| Error::Transport {
        url: url.to_string(),
        source,
    })?;
    if !status.is_success() {
        let message = serde_json::from_slice::<J>(&bytes)
            .ok()
            .and_then(|j| j.get("error").and_then(J::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(500).collect());
        return Err(Error::Status {
            status: status.as_u16(),
            message,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls_and_rejects_bad_bases() {
        let c = Client::new("http://127.0.0.1:8080/", None).unwrap();
        assert_eq!(
            c.url(&["v1", "feature-tables", "a.b", "lookup"]).as_str(),
            "http://127.0.0.1:8080/v1/feature-tables/a.b/lookup"
        );
        let c = Client::new("http://h/prefix", None).unwrap();
        assert_eq!(c.url(&["healthz"]).as_str(), "http://h/prefix/healthz");
        assert_eq!(
            c.url(&["v1", "feature-tables", "a/b c", "lookup"]).as_str(),
            "http://h/prefix/v1/feature-tables/a%2Fb%20c/lookup"
        );
        assert!(matches!(
            Client::new("ftp://x", None),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            Client::new("not a url", None),
            Err(Error::InvalidUrl { .. })
        ));
        let l = FeatureLookup::new("default.users", &["user_id"])
            .features(&["age"])
            .rename("age", "user_age");
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!({"table":"default.users","lookup_key":["user_id"],"features":["age"],"rename":{"age":"user_age"}})
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = Client::new("http://127.0.0.1:8080", Some("s3cret-token".into())).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
