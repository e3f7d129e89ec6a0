//! Online stores: opening one (a configured `[stores.NAME]`, or a MySQL or PostgreSQL spec given
//! from Python, which needs no `fstore.toml` entry), publishing, dropping an online table and in-process
//! lookups with the read identity. One small function per library call, so changes to
//! `fstore_online`'s store traits stay local to this file.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use fstore_core::config::{Config, MysqlConfig, PostgresConfig, StoreConfig, TlsMode};
use fstore_core::{FeatureType, NoProgress, SecretPrefix, TableName, Value};
use fstore_offline::OfflineStore;
use fstore_online::{
    OnlineReader, OnlineStore, OnlineWriter, PublishedTable, ReadStore, WriteMode,
};
use fstore_publish::stores::{Identity, open_reader, open_writer};
use fstore_publish::{Method, PublishOptions, PublishReport};

use crate::errors::{Error, Result};

/// A MySQL-compatible store described from Python (Databricks' `AmazonRdsMySqlSpec`).
#[derive(Clone, Debug)]
pub struct MysqlSpec {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub read_secret_prefix: Option<String>,
    pub write_secret_prefix: Option<String>,
    pub tls: Option<String>,
}

/// A PostgreSQL store described from Python (`fstore.PostgresSpec`).
#[derive(Clone, Debug)]
pub struct PostgresSpec {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub schema: String,
    pub read_secret_prefix: Option<String>,
    pub write_secret_prefix: Option<String>,
    pub tls: Option<String>,
}

/// Which store a call uses: a configured one by name (`None`: the only one), or a spec.
pub enum StoreRef {
    Named(Option<String>),
    Spec(MysqlSpec),
    Postgres(PostgresSpec),
}

/// A MySQL spec from Python: `(host, port, database, read_secret_prefix, write_secret_prefix, tls)`.
pub type SpecTuple = (
    String,
    u16,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A PostgreSQL spec from Python: `(host, port, database, schema, read_secret_prefix,
/// write_secret_prefix, tls)`.
pub type PgSpecTuple = (
    String,
    u16,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The store a call names: a spec when one is given, else the configured store `store`.
pub fn store_ref(
    store: Option<String>,
    mysql: Option<SpecTuple>,
    postgres: Option<PgSpecTuple>,
) -> StoreRef {
    if let Some((host, port, database, schema, read, write, tls)) = postgres {
        return StoreRef::Postgres(PostgresSpec {
            host,
            port,
            database,
            schema,
            read_secret_prefix: read,
            write_secret_prefix: write,
            tls,
        });
    }
    match mysql {
        Some((host, port, database, read, write, tls)) => StoreRef::Spec(MysqlSpec {
            host,
            port,
            database,
            read_secret_prefix: read,
            write_secret_prefix: write,
            tls,
        }),
        None => StoreRef::Named(store),
    }
}

fn tls_mode(s: &str) -> Result<TlsMode> {
    Ok(match s {
        "disabled" => TlsMode::Disabled,
        "preferred" => TlsMode::Preferred,
        "required" => TlsMode::Required,
        "verify-identity" => TlsMode::VerifyIdentity,
        other => {
            return Err(Error::invalid(format!(
                "unknown tls mode `{other}`; use disabled, preferred, required or verify-identity"
            )));
        }
    })
}

/// The configuration to open `store` from, and the store's name in it. A spec becomes a MySQL
/// store entry; when `fstore.toml` configures the same host, port and database, that entry's
/// other settings (TLS, timeouts) are kept and its name is used.
pub fn resolve(config: &Config, store: &StoreRef) -> Result<(Config, Option<String>)> {
    let spec = match store {
        StoreRef::Named(name) => return Ok((config.clone(), name.clone())),
        StoreRef::Spec(s) => s,
        StoreRef::Postgres(s) => return resolve_postgres(config, s),
    };
    fstore_core::ident::validate_database_name(&spec.database)?;
    let existing = config.stores.iter().find_map(|(n, s)| match s {
        StoreConfig::Mysql(m)
            if m.host == spec.host && m.port == spec.port && m.database == spec.database =>
        {
            Some((n.clone(), m.clone()))
        }
        _ => None,
    });
    let (name, base) = existing.unwrap_or_else(|| {
        (
            format!("{}:{}/{}", spec.host, spec.port, spec.database),
            MysqlConfig {
                host: spec.host.clone(),
                port: spec.port,
                database: spec.database.clone(),
                read_secret_prefix: None,
                write_secret_prefix: None,
                tls: TlsMode::default_for_host(&spec.host),
                tls_ca_file: None,
                connect_timeout_secs: 10,
                pool_max: 32,
            },
        )
    });
    let mut m = base;
    m.read_secret_prefix = prefix(&spec.read_secret_prefix)?;
    m.write_secret_prefix = prefix(&spec.write_secret_prefix)?;
    if let Some(t) = &spec.tls {
        m.tls = tls_mode(t)?;
    }
    let mut config = config.clone();
    config.stores.insert(name.clone(), StoreConfig::Mysql(m));
    Ok((config, Some(name)))
}

fn prefix(p: &Option<String>) -> Result<Option<SecretPrefix>> {
    Ok(p.as_deref().map(SecretPrefix::parse).transpose()?)
}

/// [`resolve`] for a PostgreSQL spec: the same rule, a configured store with the same host,
/// port, database and schema lending its other settings (TLS, CA file, timeouts).
fn resolve_postgres(config: &Config, spec: &PostgresSpec) -> Result<(Config, Option<String>)> {
    fstore_core::ident::validate_database_name(&spec.database)?;
    fstore_core::ident::validate_database_name(&spec.schema)?;
    let existing = config.stores.iter().find_map(|(n, s)| match s {
        StoreConfig::Postgres(p)
            if p.host == spec.host
                && p.port == spec.port
                && p.database == spec.database
                && p.schema == spec.schema =>
        {
            Some((n.clone(), p.clone()))
        }
        _ => None,
    });
    let (name, mut p) = existing.unwrap_or_else(|| {
        (
            format!(
                "{}:{}/{}/{}",
                spec.host, spec.port, spec.database, spec.schema
            ),
            PostgresConfig {
                host: spec.host.clone(),
                port: spec.port,
                database: spec.database.clone(),
                schema: spec.schema.clone(),
                read_secret_prefix: None,
                write_secret_prefix: None,
                tls: TlsMode::default_for_host(&spec.host),
                tls_ca_file: None,
                connect_timeout_secs: 10,
                pool_max: 32,
            },
        )
    });
    p.read_secret_prefix = prefix(&spec.read_secret_prefix)?;
    p.write_secret_prefix = prefix(&spec.write_secret_prefix)?;
    if let Some(t) = &spec.tls {
        p.tls = tls_mode(t)?;
    }
    let mut config = config.clone();
    config.stores.insert(name.clone(), StoreConfig::Postgres(p));
    Ok((config, Some(name)))
}

/// A store the client opened: with the write identity (publish, drop) or the read identity
/// (lookups), which cannot write by type.
pub enum Handle {
    Writer(OnlineStore),
    Reader(ReadStore),
}

impl Handle {
    /// The writer-identity store; an error (a bug) for a store opened to read.
    pub fn writer(&self) -> Result<&OnlineStore> {
        match self {
            Handle::Writer(s) => Ok(s),
            Handle::Reader(_) => Err(Error::invalid(
                "internal: a read-only store was asked to write",
            )),
        }
    }

    /// The reader-identity store; an error (a bug) for a store opened to write.
    pub fn reader(&self) -> Result<&ReadStore> {
        match self {
            Handle::Reader(s) => Ok(s),
            Handle::Writer(_) => Err(Error::invalid(
                "internal: lookups must use the read identity",
            )),
        }
    }
}

pub async fn open(
    config: &Config,
    name: Option<&str>,
    identity: Identity,
) -> Result<(String, Handle)> {
    Ok(match identity {
        Identity::Writer => {
            let (n, s) = open_writer(config, name).await?;
            (n, Handle::Writer(s))
        }
        Identity::Reader => {
            let (n, s) = open_reader(config, name).await?;
            (n, Handle::Reader(s))
        }
    })
}

pub struct PublishArgs {
    pub mode: WriteMode,
    pub online_table: Option<String>,
    pub filter: Option<String>,
    pub features: Option<Vec<String>>,
    pub full: bool,
}

impl PublishArgs {
    pub fn options(self) -> PublishOptions {
        PublishOptions {
            mode: self.mode,
            online_table: self.online_table,
            filter: self.filter,
            features: self.features,
            full: self.full,
        }
    }
}

pub async fn publish(
    offline: &OfflineStore,
    store: &OnlineStore,
    name: &TableName,
    a: PublishArgs,
) -> Result<PublishReport> {
    let opts = a.options();
    Ok(fstore_publish::publish(offline, store, name, &opts, &NoProgress).await?)
}

/// The summary `fstore publish` prints, word for word.
pub fn summary(store: &str, r: &PublishReport) -> String {
    r.summary(store)
}

pub fn method_name(m: &Method) -> &'static str {
    match m {
        Method::Incremental { .. } => "incremental",
        Method::Full { .. } => "full",
        Method::UpToDate => "up_to_date",
    }
}

pub async fn drop_online_table(store: &OnlineStore, table: &str) -> Result<()> {
    fstore_core::ident::validate_online_table_name(table)?;
    Ok(store.drop_table(table).await?)
}

/// The published layout of `table`, or how to publish it.
pub async fn published(
    store: &impl OnlineReader,
    store_name: &str,
    feature_table: &TableName,
    table: &str,
) -> Result<PublishedTable> {
    store.describe(table).await?.ok_or_else(|| {
        Error {
            class: crate::errors::Class::TableNotFound,
            message: format!(
                "`{table}` is not published in store `{store_name}`; publish it first (client.publish_table('{feature_table}', ...) or `fstore publish {feature_table} --store {store_name}`)"
            ),
        }
    })
}

/// Parses key texts (one per primary key, in the layout's order) as the online key types.
pub fn parse_keys(t: &PublishedTable, keys: &[Vec<String>]) -> Result<Vec<Vec<Value>>> {
    let pks = &t.layout.primary_keys;
    keys.iter()
        .enumerate()
        .map(|(row, key)| {
            if key.len() != pks.len() {
                return Err(Error::invalid(format!(
                    "key {row} has {} value(s), but `{}` has {} primary key(s): {}",
                    key.len(),
                    t.layout.table,
                    pks.len(),
                    pks.join(", ")
                )));
            }
            key.iter()
                .zip(pks)
                .map(|(v, col)| {
                    let ftype = t.layout.column(col).map(|c| c.ftype).ok_or_else(|| {
                        Error::invalid(format!("key column `{col}` is not online"))
                    })?;
                    Value::parse_as(v, ftype)
                        .map_err(|e| Error::invalid(format!("key `{col}`: {e}")))
                })
                .collect()
        })
        .collect()
}

/// Looks `keys` up and returns one row per key, in request order: the key columns, then the
/// features (all NULL for a key that is not online).
pub async fn lookup(
    store: &impl OnlineReader,
    t: &PublishedTable,
    keys: &[Vec<Value>],
    features: Option<&[String]>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let result = store.lookup_in(&t.layout, keys, features).await?;
    let mut columns: Vec<(String, FeatureType)> = Vec::new();
    for k in &t.layout.primary_keys {
        let ftype = t
            .layout
            .column(k)
            .map(|c| c.ftype)
            .ok_or_else(|| Error::invalid(format!("key column `{k}` is not online")))?;
        columns.push((k.clone(), ftype));
    }
    let nk = columns.len();
    columns.extend(result.columns.iter().cloned());
    let mut arrays = Vec::with_capacity(columns.len());
    for (i, (_, ftype)) in columns.iter().enumerate() {
        let cells = keys.iter().zip(&result.rows).map(|(key, row)| {
            if i < nk {
                Some(&key[i])
            } else {
                row.as_ref().map(|r| &r[i - nk])
            }
        });
        arrays.push(build(*ftype, cells)?);
    }
    let schema: SchemaRef = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, t)| Field::new(n, arrow_type(*t), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    Ok((schema, vec![batch]))
}

pub fn arrow_type(t: FeatureType) -> DataType {
    match t {
        FeatureType::SmallInt => DataType::Int16,
        FeatureType::Int => DataType::Int32,
        FeatureType::BigInt => DataType::Int64,
        FeatureType::Float => DataType::Float32,
        FeatureType::Double => DataType::Float64,
        FeatureType::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
        FeatureType::Boolean => DataType::Boolean,
        FeatureType::String | FeatureType::Json => DataType::Utf8,
        FeatureType::Binary => DataType::Binary,
        FeatureType::Date => DataType::Date32,
        FeatureType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

fn mismatch(t: FeatureType, v: &Value) -> Error {
    Error::invalid(format!(
        "the online store returned {v:?} for a {} column",
        t.name()
    ))
}

/// One Arrow column of type `t` from looked-up values (`None` or `Value::Null`: NULL).
pub fn build<'a>(
    t: FeatureType,
    cells: impl Iterator<Item = Option<&'a Value>>,
) -> Result<ArrayRef> {
    macro_rules! col {
        ($builder:expr, $pat:pat => $val:expr) => {{
            let mut b = $builder;
            for c in cells {
                match c {
                    None | Some(Value::Null) => b.append_null(),
                    Some($pat) => b.append_value($val),
                    Some(other) => return Err(mismatch(t, other)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    let out = match t {
        FeatureType::SmallInt => {
            col!(Int16Builder::new(), Value::Int(i) => i16::try_from(*i).map_err(|_| mismatch(t, &Value::Int(*i)))?)
        }
        FeatureType::Int => {
            col!(Int32Builder::new(), Value::Int(i) => i32::try_from(*i).map_err(|_| mismatch(t, &Value::Int(*i)))?)
        }
        FeatureType::BigInt => col!(Int64Builder::new(), Value::Int(i) => *i),
        FeatureType::Float => col!(Float32Builder::new(), Value::Float(f) => *f as f32),
        FeatureType::Double => col!(Float64Builder::new(), Value::Float(f) => *f),
        FeatureType::Decimal { precision, scale } => {
            let b = Decimal128Builder::new().with_precision_and_scale(precision, scale)?;
            col!(b, Value::Decimal(s) => fstore_online::arrow_values::parse_decimal(s, scale)
                .ok_or_else(|| mismatch(t, &Value::Decimal(s.clone())))?)
        }
        FeatureType::Boolean => col!(BooleanBuilder::new(), Value::Bool(b) => *b),
        FeatureType::String | FeatureType::Json => {
            col!(StringBuilder::new(), Value::String(s) | Value::Json(s) => s)
        }
        FeatureType::Binary => col!(BinaryBuilder::new(), Value::Bytes(b) => b),
        FeatureType::Date => col!(Date32Builder::new(), Value::Date(d) => *d),
        FeatureType::Timestamp => {
            let b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            col!(b, Value::Timestamp(m) => *m)
        }
    };
    Ok(out)
}
