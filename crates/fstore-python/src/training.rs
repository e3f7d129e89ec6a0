//! Training sets: a spine (Arrow data from Python, or a feature table) joined with feature
//! lookups, point-in-time correct, by `fstore_training` (the same code `fstore training-set`
//! runs, so the two give equal results on the same inputs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use fstore_core::TableName;
use fstore_offline::{OfflineStore, TimeTravel};
use fstore_training::{FeatureLookup, Spine, TrainingOptions};

use crate::errors::{Error, Result};

/// One `FeatureLookup` as Python describes it.
pub struct Lookup {
    pub table: String,
    pub lookup_key: Vec<String>,
    pub timestamp_lookup_key: Option<String>,
    pub features: Option<Vec<String>>,
    pub rename: HashMap<String, String>,
    pub lookback_secs: Option<f64>,
}

impl Lookup {
    fn build(self) -> Result<FeatureLookup> {
        let mut l = FeatureLookup::new(TableName::parse(&self.table)?).lookup_key(self.lookup_key);
        if let Some(ts) = self.timestamp_lookup_key {
            l = l.timestamp_lookup_key(ts);
        }
        if let Some(f) = self.features {
            l = l.features(f);
        }
        for (k, v) in self.rename {
            l = l.rename(k, v);
        }
        if let Some(s) = self.lookback_secs {
            let d = Duration::try_from_secs_f64(s).map_err(|_| {
                Error::invalid(format!(
                    "lookback_window of `{}` must be a positive duration",
                    self.table
                ))
            })?;
            l = l.lookback(d);
        }
        Ok(l)
    }
}

pub enum SpineInput {
    Batches(SchemaRef, Vec<RecordBatch>),
    Table(String),
}

pub struct Request {
    pub spine: SpineInput,
    pub lookups: Vec<Lookup>,
    pub label: Vec<String>,
    pub exclude: Vec<String>,
    pub as_of_version: Option<i64>,
    pub table_versions: HashMap<String, i64>,
    /// Bytes the feature indexes may take before spilling (`None`: the CLI's default, 256 MiB).
    pub memory_limit: Option<usize>,
    /// Where spill files go (`None`: TMPDIR).
    pub spill_dir: Option<PathBuf>,
}

/// The joined rows and the `(table, version)` each feature table was read at.
pub async fn build(
    offline: &OfflineStore,
    r: Request,
) -> Result<(SchemaRef, Vec<RecordBatch>, Vec<(String, i64)>)> {
    let spine = match r.spine {
        SpineInput::Batches(schema, batches) => Spine::Batches { schema, batches },
        SpineInput::Table(t) => Spine::Table(TableName::parse(&t)?),
    };
    let lookups = r
        .lookups
        .into_iter()
        .map(Lookup::build)
        .collect::<Result<Vec<_>>>()?;
    let mut opts = TrainingOptions {
        label: r.label,
        exclude: r.exclude,
        spill_dir: r.spill_dir,
        ..Default::default()
    };
    if let Some(m) = r.memory_limit {
        opts.memory_limit = m;
    }
    if let Some(v) = r.as_of_version {
        opts.as_of = TimeTravel::Version(v);
    }
    for (t, v) in r.table_versions {
        opts.table_versions
            .insert(TableName::parse(&t)?, TimeTravel::Version(v));
    }
    let set = fstore_training::training_set(offline, spine, lookups, opts).await?;
    let schema = set.schema();
    let tables = set
        .tables_read()
        .iter()
        .map(|t| (t.name.to_string(), t.version))
        .collect();
    let batches = set.collect().await?;
    Ok((schema, batches, tables))
}
