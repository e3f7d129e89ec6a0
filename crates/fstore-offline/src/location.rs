//! Where feature tables live: the offline root (a local directory or an object-store URL), the
//! place `<root>/<schema>/<table>` of each table, and the small link files
//! `<root>/<schema>/<table>.fstore-link` that point at tables registered from elsewhere.
//!
//! Everything here goes through `object_store` (via deltalake's factories), so an `s3://` root
//! works the same way as a local one; what is particular to S3 (options, credentials, the
//! up-front checks) lives in `s3.rs`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{
    self, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
};
use deltalake::logstore::{ObjectStoreRef, store_for};
use fstore_core::TableName;
use url::Url;

use crate::error::{Error, Result};
use crate::s3::{self, S3Root, S3Settings};

/// Suffix of the link files that register tables stored outside the root.
pub const LINK_SUFFIX: &str = ".fstore-link";

/// A parsed offline root with the storage options used for every table under it.
#[derive(Clone)]
pub(crate) struct Root {
    /// Always ends with `/`, so `join` appends.
    url: Url,
    options: HashMap<String, String>,
    store: ObjectStoreRef,
    /// Set for `s3://` roots.
    s3: Option<S3Root>,
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Storage options may hold credentials: print their keys only.
        let mut keys: Vec<&String> = self.options.keys().collect();
        keys.sort();
        f.debug_struct("Root")
            .field("url", &self.url.as_str())
            .field("storage_option_keys", &keys)
            .finish()
    }
}

impl Root {
    #[cfg(test)]
    pub(crate) fn parse(root: &str, options: HashMap<String, String>) -> Result<Self> {
        Self::parse_with(root, options, &S3Settings::default())
    }

    /// Parses `root`; `settings` apply to `s3://` locations (the root, and tables registered
    /// from S3 paths).
    pub(crate) fn parse_with(
        root: &str,
        options: HashMap<String, String>,
        settings: &S3Settings,
    ) -> Result<Self> {
        s3::register_handlers();
        let url = root_url(root)?;
        let mut options = s3::storage_options(settings, options);
        let s3 = if s3::is_s3(&url) {
            Some(S3Root::new(&url, &mut options, settings)?)
        } else {
            None
        };
        let store = store_for(&url, &options).map_err(|e| Error::InvalidRoot {
            root: root.to_string(),
            reason: format!(
                "{e} (fstore supports local paths, file:// URLs and s3://bucket/prefix; not `{}`)",
                url.scheme()
            ),
        })?;
        Ok(Self {
            url,
            options,
            store,
            s3,
        })
    }

    /// For object-store roots: checks once that the root can be listed, so a missing bucket,
    /// denied access or a dead endpoint is reported as such before any command proceeds.
    pub(crate) async fn check(&self) -> Result<()> {
        match &self.s3 {
            Some(s3) => s3.check_reachable().await,
            None => Ok(()),
        }
    }

    /// Before a commit to the table at `url`: on S3, that concurrent commits cannot be lost. The
    /// check is about the service, so it also covers tables registered from elsewhere on it.
    pub(crate) async fn check_commit(&self, url: &Url) -> Result<()> {
        match &self.s3 {
            Some(s3) if s3::is_s3(url) => s3.check_commits_are_safe().await,
            _ => Ok(()),
        }
    }

    /// A clearer error for a storage failure under this root, if it is a setup problem.
    pub(crate) fn classify(&self, e: &(dyn std::error::Error + 'static)) -> Option<Error> {
        self.s3.as_ref().and_then(|s3| s3.classify(e))
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    pub(crate) fn options(&self) -> &HashMap<String, String> {
        &self.options
    }

    /// The root for messages: a plain path for local roots.
    pub(crate) fn display(&self) -> String {
        display_url(&self.url)
    }

    /// `<root>/<schema>/<table>/`.
    pub(crate) fn table_url(&self, name: &TableName) -> Url {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .expect("root URLs are hierarchical")
            .pop_if_empty()
            .push(name.schema())
            .push(name.table())
            .push("");
        url
    }

    fn link_path(name: &TableName) -> ObjectPath {
        ObjectPath::from_iter([
            name.schema().to_string(),
            format!("{}{LINK_SUFFIX}", name.table()),
        ])
    }

    /// The URL a registered table's link points at, if there is a link.
    pub(crate) async fn read_link(&self, name: &TableName) -> Result<Option<Url>> {
        self.check().await?;
        let path = Self::link_path(name);
        let bytes = match self.store.get(&path).await {
            Ok(r) => r
                .bytes()
                .await
                .map_err(Error::storage(format!("reading {path}")))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Error::storage(format!("reading {path}"))(e)),
        };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        let url = Url::parse(text).map_err(|e| Error::InvalidRoot {
            root: self.display(),
            reason: format!(
                "the link file {path} holds `{text}`, which is not a URL ({e}); remove it"
            ),
        })?;
        Ok(Some(url))
    }

    /// Writes the link; fails if one already exists.
    pub(crate) async fn write_link(&self, name: &TableName, target: &Url) -> Result<()> {
        let path = Self::link_path(name);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(format!("{target}\n")), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(Error::TableExists {
                name: name.to_string(),
                location: format!("{} (registered by a link)", display_url(target)),
            }),
            Err(e) => Err(Error::storage(format!("writing {path}"))(e)),
        }
    }

    pub(crate) async fn delete_link(&self, name: &TableName) -> Result<()> {
        let path = Self::link_path(name);
        self.store
            .delete(&path)
            .await
            .map_err(Error::storage(format!("deleting {path}")))
    }

    /// Deletes every object under `<root>/<schema>/<table>/` (and the directory, for local roots).
    pub(crate) async fn delete_table_dir(&self, name: &TableName) -> Result<()> {
        let url = self.table_url(name);
        if url.scheme() == "file" {
            let dir = url
                .to_file_path()
                .map_err(|()| Error::Internal(format!("table URL {url} is not a local path")))?;
            return match std::fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(Error::Io { path: dir, source }),
            };
        }
        use futures::{StreamExt, TryStreamExt};
        let prefix = ObjectPath::from_iter([name.schema(), name.table()]);
        let locations = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .boxed();
        self.store
            .delete_stream(locations)
            .try_collect::<Vec<_>>()
            .await
            .map_err(Error::storage(format!("deleting {prefix}")))?;
        Ok(())
    }

    /// Whether the table directory `url` holds a `_delta_log`. Asked before loading a table from
    /// object storage, where the Delta kernel would otherwise log an error for every table that
    /// does not exist yet.
    pub(crate) async fn has_delta_log(&self, url: &Url) -> Result<bool> {
        use futures::StreamExt;
        let (store, prefix) = match url.as_str().strip_prefix(self.url.as_str()) {
            Some(rel) => (
                self.store.clone(),
                ObjectPath::from_iter(
                    rel.split('/')
                        .filter(|p| !p.is_empty())
                        .chain(["_delta_log"]),
                ),
            ),
            // A table registered from elsewhere: a store of its own, with the same options.
            None => (
                store_for(url, &self.options).map_err(|e| Error::InvalidRoot {
                    root: display_url(url),
                    reason: e.to_string(),
                })?,
                ObjectPath::from("_delta_log"),
            ),
        };
        match store.list(Some(&prefix)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(object_store::Error::NotFound { .. })) => Ok(false),
            Some(Err(e)) => Err(self
                .classify(&e)
                .unwrap_or_else(|| Error::storage(format!("listing {prefix}"))(e))),
        }
    }

    /// Every `<schema>/<table>` holding a `_delta_log`, and every link, as `(name, is_link)`.
    pub(crate) async fn list(&self) -> Result<Vec<(TableName, bool)>> {
        self.check().await?;
        let mut out = Vec::new();
        let schemas = self.list_dir(None).await?;
        for schema_dir in schemas.common_prefixes {
            let Some(schema) = schema_dir.filename().map(str::to_string) else {
                continue;
            };
            let entries = self.list_dir(Some(&schema_dir)).await?;
            for table_dir in entries.common_prefixes {
                let Some(table) = table_dir.filename() else {
                    continue;
                };
                let Ok(name) = TableName::parse(&format!("{schema}.{table}")) else {
                    tracing::debug!(dir = %table_dir, "skipping a directory whose name is not a table name");
                    continue;
                };
                let inner = self.list_dir(Some(&table_dir)).await?;
                if inner
                    .common_prefixes
                    .iter()
                    .any(|p| p.filename() == Some("_delta_log"))
                {
                    out.push((name, false));
                }
            }
            for obj in entries.objects {
                let Some(file) = obj.location.filename() else {
                    continue;
                };
                let Some(table) = file.strip_suffix(LINK_SUFFIX) else {
                    continue;
                };
                if let Ok(name) = TableName::parse(&format!("{schema}.{table}")) {
                    out.push((name, true));
                }
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        Ok(out)
    }

    async fn list_dir(&self, prefix: Option<&ObjectPath>) -> Result<object_store::ListResult> {
        match self.store.list_with_delimiter(prefix).await {
            Ok(r) => Ok(r),
            // A local root that was never written to is simply empty.
            Err(object_store::Error::NotFound { .. }) => Ok(object_store::ListResult {
                common_prefixes: vec![],
                objects: vec![],
            }),
            Err(e) => Err(Error::storage(format!(
                "listing {}",
                prefix.map_or_else(|| self.display(), |p| p.to_string())
            ))(e)),
        }
    }
}

/// Parses a root or table location: a URL with a scheme, or a local path (relative paths are
/// made absolute against the current directory, `~/` expands to the home directory).
pub(crate) fn root_url(root: &str) -> Result<Url> {
    let bad = |reason: String| Error::InvalidRoot {
        root: root.to_string(),
        reason,
    };
    if root.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    let mut url = match Url::parse(root) {
        Ok(url) if url.scheme() == "file" => {
            let path = url
                .to_file_path()
                .map_err(|()| bad("not a valid local file URL".into()))?;
            dir_url(&path).map_err(bad)?
        }
        // One-letter "schemes" are Windows drive letters.
        Ok(url) if url.scheme().len() > 1 => {
            if url.cannot_be_a_base() {
                return Err(bad("the URL has no path".into()));
            }
            url
        }
        _ => dir_url(Path::new(root)).map_err(bad)?,
    };
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

fn dir_url(path: &Path) -> std::result::Result<Url, String> {
    let expanded = match path.strip_prefix("~") {
        Ok(rest) if path.starts_with("~") => {
            let home = std::env::var_os("HOME").ok_or("`~` used but HOME is not set")?;
            PathBuf::from(home).join(rest)
        }
        _ => path.to_path_buf(),
    };
    let abs =
        std::path::absolute(&expanded).map_err(|e| format!("cannot make it absolute: {e}"))?;
    let normalized = normalize_lexically(&abs);
    Url::from_directory_path(&normalized)
        .map_err(|()| format!("{} is not an absolute path", normalized.display()))
}

/// Removes `.` and resolves `..` without touching the file system (the directory may not exist yet).
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A location for messages: local paths without `file://`.
pub(crate) fn display_url(url: &Url) -> String {
    if url.scheme() == "file"
        && let Ok(p) = url.to_file_path()
    {
        return p.display().to_string();
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_roots_are_made_absolute_and_normalized() {
        let url = root_url("some/./dir/../root").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            url,
            Url::from_directory_path(cwd.join("some/root")).unwrap()
        );
        assert!(url.path().ends_with("/some/root/"));
    }

    #[test]
    fn file_urls_and_object_urls_are_kept() {
        assert_eq!(
            root_url("file:///tmp/x").unwrap().as_str(),
            "file:///tmp/x/"
        );
        assert_eq!(
            root_url("s3://bucket/prefix").unwrap().as_str(),
            "s3://bucket/prefix/"
        );
        assert!(root_url("  ").is_err());
    }

    #[test]
    fn table_urls_nest_schema_and_table() {
        let root = Root::parse("/tmp/fstore-root", HashMap::new()).unwrap();
        let name = TableName::parse("default.t1").unwrap();
        assert_eq!(
            root.table_url(&name).as_str(),
            "file:///tmp/fstore-root/default/t1/"
        );
        assert_eq!(root.display(), "/tmp/fstore-root/");
    }

    #[test]
    fn unknown_schemes_are_rejected_up_front() {
        let e = Root::parse("nosuch://bucket/prefix", HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("invalid offline root"), "{e}");
    }

    #[test]
    fn debug_does_not_print_option_values() {
        let mut opts = HashMap::new();
        opts.insert(
            "aws_secret_access_key".to_string(),
            "s3cr3t-value".to_string(),
        );
        let root = Root::parse("/tmp/x", opts).unwrap();
        let dbg = format!("{root:?}");
        assert!(
            dbg.contains("aws_secret_access_key") && !dbg.contains("s3cr3t-value"),
            "{dbg}"
        );
    }
}
