//! `fstore._fstore.Client`: the native handle the Python `fstore.Client` wraps. It owns the
//! loaded `fstore.toml`, the offline store and the opened online stores (pooled, per store and
//! identity). Every method converts its arguments, runs the library call with the GIL released
//! ([`crate::runtime::wait`]) and converts the result; the library calls themselves live in
//! `offline`, `online` and `training`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fstore_core::config::Config;
use fstore_offline::{OfflineStore, TimeTravel};
use fstore_online::WriteMode;
use fstore_publish::stores::Identity;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::{PySchema, PyTable};

use crate::convert::{read_all, to_table};
use crate::errors::{Error, Result};
use crate::online::{PgSpecTuple, SpecTuple, StoreRef, store_ref};
use crate::reports::{outcome_dict, report_dict, table_dict};
use crate::runtime::{runtime, wait};
use crate::secrets::Secrets;
use crate::stream::PublishStream;
use crate::{offline, online, training};

pub type Opened = Arc<(String, online::Handle)>;

/// `create_table(schema=...)`: an Arrow schema, or a schema string (`"id BIGINT, name STRING"`
/// or the CLI's `"id:bigint,name:string"`) parsed by the CLI's own parser.
#[derive(FromPyObject)]
pub enum SchemaArg {
    Text(String),
    Arrow(PySchema),
}

impl SchemaArg {
    fn into_schema(self) -> Result<arrow::datatypes::SchemaRef> {
        Ok(match self {
            Self::Text(s) => Arc::new(fstore_core::parse_schema(&s)?),
            Self::Arrow(s) => s.into_inner(),
        })
    }
}

/// `memory_limit=`: bytes, or a size such as `"256MiB"` (the CLI's `--memory-limit` syntax).
#[derive(FromPyObject)]
pub enum MemoryLimit {
    Bytes(usize),
    Text(String),
}

impl MemoryLimit {
    fn bytes(self) -> Result<usize> {
        match self {
            Self::Bytes(b) => Ok(b),
            Self::Text(t) => fstore_training::parse_size(&t)
                .map_err(|e| Error::invalid(format!("memory_limit {e}"))),
        }
    }
}

#[pyclass(frozen, module = "fstore._fstore")]
pub struct Client {
    config: Config,
    offline: OfflineStore,
    stores: Mutex<HashMap<String, Opened>>,
}

impl Client {
    /// The store `r` names, opened as `identity` (reused across calls).
    async fn store(&self, r: &StoreRef, identity: Identity) -> Result<Opened> {
        let (config, name) = online::resolve(&self.config, r)?;
        let (name, _) = config.store(name.as_deref())?;
        let key = match r {
            StoreRef::Spec(s) => format!(
                "{name}|{identity:?}|{:?}|{:?}|{:?}",
                s.read_secret_prefix, s.write_secret_prefix, s.tls
            ),
            StoreRef::Postgres(s) => format!(
                "{name}|{identity:?}|{:?}|{:?}|{:?}",
                s.read_secret_prefix, s.write_secret_prefix, s.tls
            ),
            StoreRef::Named(_) => format!("{name}|{identity:?}"),
        };
        if let Some(s) = self.lock().get(&key) {
            return Ok(s.clone());
        }
        let opened = Arc::new(online::open(&config, Some(&name), identity).await?);
        self.lock().insert(key, opened.clone());
        Ok(opened)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Opened>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // MySQL pools hand their connections back to the runtime when dropped.
        if let Ok(rt) = runtime() {
            let _guard = rt.enter();
            self.lock().clear();
        }
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (config=None, offline_root=None))]
    fn new(config: Option<PathBuf>, offline_root: Option<String>) -> PyResult<Self> {
        let mut cfg = Config::load(config.as_deref()).map_err(Error::from)?;
        if let Some(root) = offline_root {
            cfg.offline.root = root;
        }
        let offline = fstore_publish::stores::open_offline(&cfg).map_err(Error::from)?;
        Ok(Self {
            config: cfg,
            offline,
            stores: Mutex::new(HashMap::new()),
        })
    }

    /// The offline root (a path or URL).
    #[getter]
    fn offline_root(&self) -> String {
        self.offline.root().to_string()
    }

    /// Names of the configured online stores.
    fn store_names(&self) -> Vec<String> {
        self.config.stores.keys().cloned().collect()
    }

    /// Closes the pooled online connections.
    fn close(&self) {
        if let Ok(rt) = runtime() {
            let _guard = rt.enter();
            self.lock().clear();
        }
    }

    #[pyo3(signature = (name, primary_keys, data=None, schema=None, timestamp_key=None, partition_columns=Vec::new(), description=None, tags=BTreeMap::new(), change_data_feed=true))]
    #[allow(clippy::too_many_arguments)] // Mirrors the Python signature.
    fn create_table<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        primary_keys: Vec<String>,
        data: Option<AnyRecordBatch>,
        schema: Option<SchemaArg>,
        timestamp_key: Option<String>,
        partition_columns: Vec<String>,
        description: Option<String>,
        tags: BTreeMap<String, String>,
        change_data_feed: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tname = offline::table_name(name)?;
        let schema = schema.map(SchemaArg::into_schema).transpose()?;
        let t = wait(py, || async move {
            let (schema, batches) = match (data, schema) {
                (Some(d), _) => read_all(d)?,
                (None, Some(s)) => (s, Vec::new()),
                (None, None) => {
                    return Err(Error::invalid(
                        "give the table's rows (df=...) or its schema (schema=...)",
                    )
                    .into());
                }
            };
            let spec = offline::NewTable {
                primary_keys,
                timestamp_key,
                description,
                tags,
            };
            Ok(offline::create(
                &self.offline,
                &tname,
                spec,
                schema,
                batches,
                partition_columns,
                change_data_feed,
            )
            .await?)
        })?;
        table_dict(py, &t)
    }

    #[pyo3(signature = (name, data, mode="merge"))]
    fn write_table<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        data: AnyRecordBatch,
        mode: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tname = offline::table_name(name)?;
        let mode = offline::write_mode(mode)?;
        let out = wait(py, || async move {
            let (_, batches) = read_all(data)?;
            Ok(offline::write(&self.offline, &tname, batches, mode).await?)
        })?;
        outcome_dict(py, name, &out)
    }

    #[pyo3(signature = (name, version=None, timestamp=None, columns=None, filter=None, limit=None))]
    #[allow(clippy::too_many_arguments)] // Mirrors the Python signature.
    fn read_table(
        &self,
        py: Python<'_>,
        name: &str,
        version: Option<i64>,
        timestamp: Option<String>,
        columns: Option<Vec<String>>,
        filter: Option<String>,
        limit: Option<usize>,
    ) -> PyResult<PyTable> {
        let tname = offline::table_name(name)?;
        let at = match (version, timestamp) {
            (Some(_), Some(_)) => {
                return Err(
                    Error::invalid("give a version or a timestamp to read at, not both").into(),
                );
            }
            (Some(v), None) => TimeTravel::Version(v),
            (None, Some(t)) => TimeTravel::Timestamp(
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| {
                        Error::invalid(format!(
                            "as-of time `{t}` is not an RFC 3339 time such as 2026-01-01T00:00:00Z"
                        ))
                    })?
                    .with_timezone(&chrono::Utc),
            ),
            (None, None) => TimeTravel::Latest,
        };
        let (schema, batches) = wait(py, || async move {
            Ok(offline::read(&self.offline, &tname, at, columns, filter, limit).await?)
        })?;
        to_table(schema, batches)
    }

    fn describe_table<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
        let tname = offline::table_name(name)?;
        let d = wait(py, || async move {
            Ok(offline::describe(&self.offline, &tname).await?)
        })?;
        let out = table_dict(py, &d.table)?;
        out.set_item("table_id", d.table_id)?;
        out.set_item("columns", d.columns)?;
        out.set_item("created_at", d.created_at)?;
        Ok(out)
    }

    fn list_tables(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        wait(
            py,
            || async move { Ok(offline::list(&self.offline).await?) },
        )
    }

    #[pyo3(signature = (name, limit=None))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let tname = offline::table_name(name)?;
        let entries = wait(py, || async move {
            Ok(offline::history(&self.offline, &tname, limit).await?)
        })?;
        let out = PyList::empty(py);
        for h in entries {
            let d = PyDict::new(py);
            d.set_item("version", h.version)?;
            d.set_item("timestamp", h.timestamp.map(|t| t.to_rfc3339()))?;
            d.set_item("operation", &h.operation)?;
            d.set_item("parameters", format!("{:?}", h.parameters))?;
            d.set_item("engine", &h.engine)?;
            d.set_item("line", h.to_string())?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn drop_table(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let tname = offline::table_name(name)?;
        wait(py, || async move {
            Ok(offline::drop_table(&self.offline, &tname).await?)
        })
    }

    #[pyo3(signature = (name, primary_keys, path=None, timestamp_key=None, description=None, tags=BTreeMap::new()))]
    #[allow(clippy::too_many_arguments)] // Mirrors the Python signature.
    fn register_table<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        primary_keys: Vec<String>,
        path: Option<String>,
        timestamp_key: Option<String>,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tname = offline::table_name(name)?;
        let spec = offline::NewTable {
            primary_keys,
            timestamp_key,
            description,
            tags,
        };
        let t = wait(py, || async move {
            Ok(offline::register(&self.offline, &tname, path, spec).await?)
        })?;
        table_dict(py, &t)
    }

    fn delete_rows<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        predicate: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tname = offline::table_name(name)?;
        let out = wait(py, || async move {
            Ok(offline::delete(&self.offline, &tname, predicate).await?)
        })?;
        outcome_dict(py, name, &out)
    }

    #[pyo3(signature = (name, store=None, mysql=None, postgres=None, mode="merge", online_table=None, filter=None, features=None, full=false))]
    #[allow(clippy::too_many_arguments)] // Mirrors the Python signature.
    fn publish_table<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        store: Option<String>,
        mysql: Option<SpecTuple>,
        postgres: Option<PgSpecTuple>,
        mode: &str,
        online_table: Option<String>,
        filter: Option<String>,
        features: Option<Vec<String>>,
        full: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tname = offline::table_name(name)?;
        let mode = match offline::write_mode(mode)? {
            fstore_offline::WriteMode::Merge => WriteMode::Merge,
            fstore_offline::WriteMode::Overwrite => WriteMode::Overwrite,
        };
        let r = store_ref(store, mysql, postgres);
        let args = online::PublishArgs {
            mode,
            online_table,
            filter,
            features,
            full,
        };
        let (store_name, report) = wait(py, || async move {
            let s = self.store(&r, Identity::Writer).await?;
            let report = online::publish(&self.offline, s.1.writer()?, &tname, args).await?;
            Ok((s.0.clone(), report))
        })?;
        report_dict(py, &store_name, &report)
    }

    /// `publish_table(..., streaming=True)`: publishes now and every new version after, on a
    /// background thread, `interval_secs` apart, until the returned stream is stopped.
    #[pyo3(signature = (name, store=None, mysql=None, postgres=None, mode="merge", online_table=None, filter=None, features=None, full=false, interval_secs=5.0))]
    #[allow(clippy::too_many_arguments)] // Mirrors the Python signature.
    fn publish_stream(
        &self,
        py: Python<'_>,
        name: &str,
        store: Option<String>,
        mysql: Option<SpecTuple>,
        postgres: Option<PgSpecTuple>,
        mode: &str,
        online_table: Option<String>,
        filter: Option<String>,
        features: Option<Vec<String>>,
        full: bool,
        interval_secs: f64,
    ) -> PyResult<PublishStream> {
        let tname = offline::table_name(name)?;
        let mode = match offline::write_mode(mode)? {
            fstore_offline::WriteMode::Merge => WriteMode::Merge,
            fstore_offline::WriteMode::Overwrite => WriteMode::Overwrite,
        };
        let interval = std::time::Duration::try_from_secs_f64(interval_secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::invalid("the trigger interval must be a positive duration"))?;
        let r = store_ref(store, mysql, postgres);
        let opts = online::PublishArgs {
            mode,
            online_table,
            filter,
            features,
            full,
        }
        .options();
        // Open the store and the table here, so a bad store, credentials or table name raise
        // from this call instead of ending the stream later.
        let table = &tname;
        let opened = wait(py, || async move {
            let s = self.store(&r, Identity::Writer).await?;
            s.1.writer()?;
            self.offline.open(table).await.map_err(Error::from)?;
            Ok(s)
        })?;
        Ok(PublishStream::start(
            self.offline.clone(),
            opened,
            tname,
            opts,
            interval,
        )?)
    }

    /// The secret scopes of the configured backend (`[secrets]`).
    fn secrets(&self) -> Secrets {
        Secrets::new(self.config.secrets.clone())
    }

    #[pyo3(signature = (online_table, store=None, mysql=None, postgres=None))]
    fn drop_online_table(
        &self,
        py: Python<'_>,
        online_table: String,
        store: Option<String>,
        mysql: Option<SpecTuple>,
        postgres: Option<PgSpecTuple>,
    ) -> PyResult<()> {
        let r = store_ref(store, mysql, postgres);
        wait(py, || async move {
            let s = self.store(&r, Identity::Writer).await?;
            Ok(online::drop_online_table(s.1.writer()?, &online_table).await?)
        })
    }

    /// Looks up `keys` (per key, one text per primary key in key order) with the read identity.
    #[pyo3(signature = (name, keys, features=None, store=None, mysql=None, postgres=None, online_table=None))]
    #[allow(clippy::too_many_arguments)] // Mirrors the Python signature.
    fn lookup(
        &self,
        py: Python<'_>,
        name: &str,
        keys: Vec<Vec<String>>,
        features: Option<Vec<String>>,
        store: Option<String>,
        mysql: Option<SpecTuple>,
        postgres: Option<PgSpecTuple>,
        online_table: Option<String>,
    ) -> PyResult<PyTable> {
        let tname = offline::table_name(name)?;
        let table = online_table.unwrap_or_else(|| fstore_publish::default_online_table(&tname));
        let r = store_ref(store, mysql, postgres);
        let (schema, batches) = wait(py, || async move {
            let s = self.store(&r, Identity::Reader).await?;
            let published = online::published(s.1.reader()?, &s.0, &tname, &table).await?;
            let keys = online::parse_keys(&published, &keys)?;
            Ok(online::lookup(s.1.reader()?, &published, &keys, features.as_deref()).await?)
        })?;
        to_table(schema, batches)
    }

    /// Primary keys of the online table `name` publishes to (for ordering lookup keys).
    #[pyo3(signature = (name, store=None, mysql=None, postgres=None, online_table=None))]
    fn online_primary_keys(
        &self,
        py: Python<'_>,
        name: &str,
        store: Option<String>,
        mysql: Option<SpecTuple>,
        postgres: Option<PgSpecTuple>,
        online_table: Option<String>,
    ) -> PyResult<Vec<String>> {
        let tname = offline::table_name(name)?;
        let table = online_table.unwrap_or_else(|| fstore_publish::default_online_table(&tname));
        let r = store_ref(store, mysql, postgres);
        wait(py, || async move {
            let s = self.store(&r, Identity::Reader).await?;
            let published = online::published(s.1.reader()?, &s.0, &tname, &table).await?;
            Ok(published.layout.primary_keys)
        })
    }

    /// Builds a training set. `lookups`: `(table, lookup_key, timestamp_lookup_key, features,
    /// rename, lookback_secs)`. `spine`: Arrow data, or `spine_table` a feature table name.
    #[pyo3(signature = (lookups, spine=None, spine_table=None, label=Vec::new(), exclude=Vec::new(), as_of_version=None, table_versions=HashMap::new(), memory_limit=None, spill_dir=None))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)] // Mirrors the Python signature.
    fn training_set<'py>(
        &self,
        py: Python<'py>,
        lookups: Vec<(
            String,
            Vec<String>,
            Option<String>,
            Option<Vec<String>>,
            HashMap<String, String>,
            Option<f64>,
        )>,
        spine: Option<AnyRecordBatch>,
        spine_table: Option<String>,
        label: Vec<String>,
        exclude: Vec<String>,
        as_of_version: Option<i64>,
        table_versions: HashMap<String, i64>,
        memory_limit: Option<MemoryLimit>,
        spill_dir: Option<PathBuf>,
    ) -> PyResult<(PyTable, Vec<(String, i64)>)> {
        let memory_limit = memory_limit.map(MemoryLimit::bytes).transpose()?;
        let lookups = lookups
            .into_iter()
            .map(
                |(table, lookup_key, ts, features, rename, lookback_secs)| training::Lookup {
                    table,
                    lookup_key,
                    timestamp_lookup_key: ts,
                    features,
                    rename,
                    lookback_secs,
                },
            )
            .collect();
        let (schema, batches, tables) = wait(py, || async move {
            let spine = match (spine, spine_table) {
                (Some(d), _) => {
                    let (s, b) = read_all(d)?;
                    training::SpineInput::Batches(s, b)
                }
                (None, Some(t)) => training::SpineInput::Table(t),
                (None, None) => {
                    return Err(Error::invalid(
                        "give the spine: a DataFrame (df=...) or a table name",
                    )
                    .into());
                }
            };
            let req = training::Request {
                spine,
                lookups,
                label,
                exclude,
                as_of_version,
                table_versions,
                memory_limit,
                spill_dir,
            };
            Ok(training::build(&self.offline, req).await?)
        })?;
        Ok((to_table(schema, batches)?, tables))
    }
}
