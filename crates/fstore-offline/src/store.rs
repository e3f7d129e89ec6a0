//! [`OfflineStore`]: the catalog side of the offline store — where a table is, opening it (at the
//! latest version or by time travel), listing, history and dropping. Writes live in `write.rs`,
//! registration in `register.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::kernel::Version;
use deltalake::logstore::commit_uri_from_version;
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use fstore_core::progress::{NoProgress, Progress};
use fstore_core::{TableName, TableSpec};
use url::Url;

use crate::error::{Error, Result};
use crate::history::{self, HistoryEntry};
use crate::location::{Root, display_url};
use crate::s3::S3Settings;
use crate::table::FeatureTable;

/// Which version of a table to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeTravel {
    Latest,
    /// A Delta version number (0 is the creating commit).
    Version(i64),
    /// The latest version committed at or before this instant.
    Timestamp(DateTime<Utc>),
}

/// The offline store: Delta feature tables under one root.
#[derive(Clone)]
pub struct OfflineStore {
    pub(crate) root: Root,
    pub(crate) progress: Arc<dyn Progress>,
    /// Whether [`OfflineStore::create`] turns on Delta's change data feed (default: on).
    pub(crate) change_data_feed: bool,
}

impl std::fmt::Debug for OfflineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineStore")
            .field("root", &self.root)
            .finish()
    }
}

/// Where a table named `<schema>.<table>` is.
pub(crate) struct Place {
    pub url: Url,
    /// Known through `<root>/<schema>/<table>.fstore-link` rather than living under the root.
    pub linked: bool,
}

impl OfflineStore {
    /// Opens the store rooted at `root`: a local path (relative paths are taken from the current
    /// directory; the directory is created when the first table is) or a URL such as `file:///`.
    /// `storage_options` are passed to every Delta table (object-store credentials, endpoint, ...).
    pub fn new(root: &str, storage_options: HashMap<String, String>) -> Result<Self> {
        Self::with_settings(root, storage_options, &S3Settings::default())
    }

    /// Like [`OfflineStore::new`], with the `[offline]` settings for `s3://` locations (region,
    /// endpoint, plain HTTP, credentials from a secret scope). Checks what needs no network
    /// (e.g. that some credentials are configured for a custom endpoint); the first operation
    /// then checks the bucket once.
    pub fn with_settings(
        root: &str,
        storage_options: HashMap<String, String>,
        settings: &S3Settings,
    ) -> Result<Self> {
        Ok(Self {
            root: Root::parse_with(root, storage_options, settings)?,
            progress: Arc::new(NoProgress),
            change_data_feed: true,
        })
    }

    /// Whether tables this store creates record Delta's change data feed
    /// (`delta.enableChangeDataFeed`; default on). With it, an incremental publish reads only the
    /// changed rows; without it, the rows of every data file a commit rewrote.
    pub fn with_change_data_feed(mut self, on: bool) -> Self {
        self.change_data_feed = on;
        self
    }

    /// Reports the progress of long writes into `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The root URL (ends with `/`).
    pub fn root(&self) -> &Url {
        self.root.url()
    }

    /// `<root>/<schema>/<table>/`: where fstore creates the table (a table registered by path
    /// lives elsewhere; see [`FeatureTable::location`]).
    pub fn table_url(&self, name: &TableName) -> Url {
        self.root.table_url(name)
    }

    pub(crate) async fn place(&self, name: &TableName) -> Result<Place> {
        Ok(match self.root.read_link(name).await? {
            Some(url) => Place { url, linked: true },
            None => Place {
                url: self.table_url(name),
                linked: false,
            },
        })
    }

    /// Loads the Delta table at `url` at its latest version; `None` if there is none.
    pub(crate) async fn load_delta(&self, url: &Url) -> Result<Option<DeltaTable>> {
        let context = || format!("opening the Delta table at {}", display_url(url));
        // The kernel reports a missing local directory as an invalid location; it is simply absent.
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
            && !path.is_dir()
        {
            return Ok(None);
        }
        if url.scheme() != "file" && !self.root.has_delta_log(url).await? {
            return Ok(None);
        }
        let mut table = DeltaTableBuilder::from_url(url.clone())
            .and_then(|b| b.with_storage_options(self.root.options().clone()).build())
            .map_err(|e| self.delta_error(context(), e))?;
        match table.load().await {
            Ok(()) => Ok(Some(table)),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => Err(self.delta_error(context(), e)),
        }
    }

    /// A Delta failure as an error: a setup problem of an S3 root (missing bucket, denied
    /// access, ...) as such, anything else as a storage error with `context`.
    pub(crate) fn delta_error(&self, context: String, e: DeltaTableError) -> Error {
        self.root
            .classify(&e)
            .unwrap_or_else(|| Error::delta(context)(e))
    }

    /// Opens a feature table at its latest version.
    pub async fn open(&self, name: &TableName) -> Result<FeatureTable> {
        self.open_at(name, TimeTravel::Latest).await
    }

    /// Opens a feature table at a version or instant. The spec is the one recorded at that
    /// version, or the current one for versions from before the table was registered.
    pub async fn open_at(&self, name: &TableName, at: TimeTravel) -> Result<FeatureTable> {
        let place = self.place(name).await?;
        let Some(mut table) = self.load_delta(&place.url).await? else {
            return Err(if place.linked {
                Error::DanglingLink {
                    name: name.to_string(),
                    location: display_url(&place.url),
                }
            } else {
                Error::TableNotFound {
                    name: name.to_string(),
                    root: self.root.display(),
                }
            });
        };
        let latest_spec = spec_of(&table)?;
        let latest = version_of(&table)?;
        let tt = |at: String, reason: String| Error::TimeTravel {
            table: name.to_string(),
            at,
            reason,
        };
        match at {
            TimeTravel::Latest => {}
            TimeTravel::Version(v) => {
                let at = format!("at version {v}");
                if v < 0 || v > latest {
                    return Err(tt(at, format!("it has versions 0 to {latest}")));
                }
                table.load_version(v as Version).await.map_err(|e| {
                    tt(
                        at,
                        format!("{e} (old log entries may have been cleaned up)"),
                    )
                })?;
            }
            TimeTravel::Timestamp(ts) => {
                let at = format!("as of {}", ts.to_rfc3339());
                table
                    .load_with_datetime(ts)
                    .await
                    .map_err(|e| tt(at.clone(), e.to_string()))?;
                let v = version_of(&table)?;
                if let Some(committed) = commit_time(&table, v).await?
                    && committed > ts
                {
                    return Err(tt(
                        at,
                        format!(
                            "the table did not exist yet; its first readable version ({v}) was committed at {}",
                            committed.to_rfc3339()
                        ),
                    ));
                }
            }
        }
        let spec = match spec_of(&table)? {
            Some(spec) => spec,
            None => latest_spec.ok_or_else(|| Error::NotAFeatureTable {
                name: name.to_string(),
                location: display_url(&place.url),
            })?,
        };
        feature_table(name.clone(), spec, table, place.linked)
    }

    /// Every table under the root holding a `_delta_log`, plus tables registered by link, sorted.
    /// Plain Delta tables that are not (yet) feature tables are listed too.
    pub async fn list(&self) -> Result<Vec<TableName>> {
        Ok(self
            .root
            .list()
            .await?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    /// The table's commits, newest first (at most `limit`).
    pub async fn history(
        &self,
        name: &TableName,
        limit: Option<usize>,
    ) -> Result<Vec<HistoryEntry>> {
        let table = self.open(name).await?;
        history::read(&table.delta, limit).await
    }

    /// Deletes the table's directory under the root — or, for a table registered by path, only
    /// the registration (the data belongs to whoever wrote it).
    pub async fn drop(&self, name: &TableName) -> Result<()> {
        let place = self.place(name).await?;
        if place.linked {
            return self.root.delete_link(name).await;
        }
        if self.load_delta(&place.url).await?.is_none() {
            return Err(Error::TableNotFound {
                name: name.to_string(),
                root: self.root.display(),
            });
        }
        self.root.delete_table_dir(name).await
    }
}

/// The feature-table spec recorded in a Delta table's metadata, if any.
pub(crate) fn spec_of(table: &DeltaTable) -> Result<Option<TableSpec>> {
    let snapshot = table
        .snapshot()
        .map_err(Error::delta("reading table metadata"))?;
    let metadata = snapshot.metadata();
    Ok(TableSpec::from_properties(
        metadata.configuration(),
        metadata.description(),
    )?)
}

pub(crate) fn version_of(table: &DeltaTable) -> Result<i64> {
    table
        .version()
        .map(|v| v as i64)
        .ok_or_else(|| Error::Internal("a loaded Delta table has no version".into()))
}

pub(crate) fn arrow_schema_of(table: &DeltaTable) -> Result<SchemaRef> {
    Ok(table
        .snapshot()
        .map_err(Error::delta("reading the table schema"))?
        .snapshot()
        .arrow_schema())
}

pub(crate) fn feature_table(
    name: TableName,
    spec: TableSpec,
    table: DeltaTable,
    linked: bool,
) -> Result<FeatureTable> {
    let snapshot = table
        .snapshot()
        .map_err(Error::delta("reading table metadata"))?;
    let partition_columns = snapshot.metadata().partition_columns().to_vec();
    Ok(FeatureTable {
        name,
        spec,
        version: version_of(&table)?,
        schema: arrow_schema_of(&table)?,
        location: table.table_url().clone(),
        partition_columns,
        registered_by_link: linked,
        delta: table,
    })
}

/// When `version` was committed (the commit file's modification time, as Delta time travel
/// uses), if the commit file still exists.
async fn commit_time(table: &DeltaTable, version: i64) -> Result<Option<DateTime<Utc>>> {
    let v = version as Version;
    if let Some(ms) = table.snapshot().ok().and_then(|s| s.version_timestamp(v)) {
        return Ok(DateTime::from_timestamp_millis(ms));
    }
    let store = table.log_store().object_store(None);
    match store.head(&commit_uri_from_version(Some(v))).await {
        Ok(meta) => Ok(Some(meta.last_modified)),
        Err(deltalake::ObjectStoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(Error::storage(format!("reading commit {version}"))(e)),
    }
}
