//! Checking a training-set request against the spine and the feature tables, and deciding the
//! output: which spine columns, which features under which names, in which order.
//!
//! Databricks' rules (databricks-reference.md §a.2, §e): lookup keys match primary keys by
//! position, with equal count and types; a time-series table needs a `timestamp_lookup_key` and
//! any other table refuses one; a lookback needs a time-series table and must be the same for all
//! lookups of one table; a feature whose output name is already a spine column is not joined; the
//! output is the spine's columns, then the features in lookup order, then the labels; excluded
//! columns are dropped, labels cannot be.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use fstore_core::FeatureType;
use fstore_offline::FeatureTable;

use crate::error::{Error, Result};
use crate::index::is_temporal;
use crate::lookup::FeatureLookup;

/// One feature table to load and index.
pub(crate) struct TablePlan {
    pub table: FeatureTable,
    /// Columns to read: primary keys, then the timestamp key, then every feature any lookup needs.
    pub columns: Vec<String>,
    /// The lookback all lookups of this table share (microseconds).
    pub lookback: Option<i64>,
}

impl TablePlan {
    pub fn key_count(&self) -> usize {
        self.table.spec.primary_keys.len()
    }

    pub fn ts_column(&self) -> Option<usize> {
        self.table
            .spec
            .timestamp_key
            .as_ref()
            .map(|_| self.key_count())
    }
}

/// One distinct probe of an index: the same table, spine keys, spine timestamp and lookback
/// share one probe per spine batch, however many lookups use it.
#[derive(PartialEq, Eq)]
pub(crate) struct ProbePlan {
    pub table: usize,
    pub spine_keys: Vec<usize>,
    pub spine_ts: Option<usize>,
    pub lookback: Option<i64>,
}

/// Where an output column comes from.
pub(crate) enum OutColumn {
    Spine(usize),
    Feature { probe: usize, column: usize },
}

pub(crate) struct Plan {
    pub tables: Vec<TablePlan>,
    pub probes: Vec<ProbePlan>,
    pub columns: Vec<OutColumn>,
    pub schema: SchemaRef,
}

/// Checks the request; `tables[i]` is the opened table of the `i`-th distinct table in `lookups`
/// (in order of first appearance).
pub(crate) fn resolve(
    spine: &Schema,
    lookups: &[FeatureLookup],
    tables: Vec<FeatureTable>,
    labels: &[String],
    exclude: &[String],
) -> Result<Plan> {
    let spine_names: Vec<&str> = spine.fields().iter().map(|f| f.name().as_str()).collect();
    let spine_list = || spine_names.join(", ");
    let spine_index = |column: &str, what: &str| {
        spine
            .index_of(column)
            .map_err(|_| Error::MissingSpineColumn {
                column: column.to_string(),
                what: what.to_string(),
                columns: spine_list(),
            })
    };

    let mut label_idx = Vec::new();
    for l in labels {
        if label_idx.contains(&spine_index(l, "a label")?) {
            return Err(Error::BadRequest(format!("label `{l}` is given twice")));
        }
        label_idx.push(spine_index(l, "a label")?);
        if exclude.contains(l) {
            return Err(Error::BadRequest(format!(
                "`{l}` is a label and cannot be excluded"
            )));
        }
    }

    let mut plans: Vec<TablePlan> = tables
        .into_iter()
        .map(|table| {
            let mut columns = table.spec.primary_keys.clone();
            columns.extend(table.spec.timestamp_key.clone());
            TablePlan {
                table,
                columns,
                lookback: None,
            }
        })
        .collect();
    let mut lookback_seen: Vec<bool> = vec![false; plans.len()];
    let mut probes: Vec<ProbePlan> = Vec::new();
    // (output name, probe, feature column name, table index, source lookup)
    let mut features: Vec<(String, usize, String, usize, Field)> = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();

    for lookup in lookups {
        let t = plans
            .iter()
            .position(|p| p.table.name == lookup.table)
            .ok_or_else(|| Error::Internal(format!("table `{}` was not opened", lookup.table)))?;
        let plan = &plans[t];
        let table = &plan.table;
        let spec = &table.spec;
        let name = lookup.table.to_string();
        let bad = |reason: String| Error::lookup(&name, reason);

        // Keys, by position.
        let keys: Vec<String> = if lookup.lookup_key.is_empty() {
            spec.primary_keys.clone()
        } else {
            lookup.lookup_key.clone()
        };
        if keys.len() != spec.primary_keys.len() {
            return Err(bad(format!(
                "lookup_key has {} column(s) ({}) but the table has {} primary key(s) ({}); they are matched by position",
                keys.len(),
                keys.join(", "),
                spec.primary_keys.len(),
                spec.primary_keys.join(", ")
            )));
        }
        let mut spine_keys = Vec::new();
        for (k, pk) in keys.iter().zip(&spec.primary_keys) {
            let i = spine.index_of(k).map_err(|_| {
                bad(format!(
                    "the spine has no lookup key column `{k}` (for primary key `{pk}`); its columns are: {}",
                    spine_list()
                ))
            })?;
            let spine_type = FeatureType::from_arrow(k, spine.field(i).data_type())?;
            let pk_field = table.schema.field_with_name(pk).map_err(|_| {
                Error::Internal(format!(
                    "primary key `{pk}` missing from the schema of `{name}`"
                ))
            })?;
            let pk_type = FeatureType::from_arrow(pk, pk_field.data_type())?;
            if spine_type != pk_type {
                return Err(bad(format!(
                    "lookup key `{k}` is {} in the spine but primary key `{pk}` is {}; cast the spine column to {}",
                    spine_type.name(),
                    pk_type.name(),
                    pk_type.name()
                )));
            }
            spine_keys.push(i);
        }

        // Timestamp and lookback.
        let spine_ts = match (&spec.timestamp_key, &lookup.timestamp_lookup_key) {
            (Some(tk), None) => {
                return Err(bad(format!(
                    "it is a time-series table (timestamp key `{tk}`): give timestamp_lookup_key=<spine event-time column>"
                )));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "it has no timestamp key, so timestamp_lookup_key is not allowed (it is only for time-series tables)"
                        .into(),
                ));
            }
            (None, None) => None,
            (Some(_), Some(ts)) => {
                let i = spine.index_of(ts).map_err(|_| {
                    bad(format!(
                        "the spine has no timestamp_lookup_key column `{ts}`; its columns are: {}",
                        spine_list()
                    ))
                })?;
                let dt = spine.field(i).data_type();
                if !is_temporal(dt) {
                    return Err(bad(format!(
                        "timestamp_lookup_key `{ts}` has type {dt} in the spine; it must be a timestamp or a date"
                    )));
                }
                Some(i)
            }
        };
        let lookback = match lookup.lookback {
            None => None,
            Some(_) if spine_ts.is_none() => {
                return Err(bad(
                    "a lookback window needs a time-series table and a timestamp_lookup_key".into(),
                ));
            }
            Some(d) => Some(
                i64::try_from(d.as_micros()).map_err(|_| bad("the lookback is too long".into()))?,
            ),
        };
        if lookback_seen[t] && plans[t].lookback != lookback {
            return Err(bad(
                "all lookups of one table must use the same lookback window".into(),
            ));
        }
        lookback_seen[t] = true;

        // Features.
        let names: Vec<String> = match &lookup.feature_names {
            Some(names) => {
                for f in names {
                    if table.schema.field_with_name(f).is_err() {
                        return Err(bad(format!(
                            "it has no column `{f}`; its columns are: {}",
                            table
                                .schema
                                .fields()
                                .iter()
                                .map(|f| f.name().as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    if spec.is_key(f) {
                        return Err(bad(format!(
                            "`{f}` is a key of the table, not a feature (the spine's lookup keys are already in the output)"
                        )));
                    }
                }
                names.clone()
            }
            None => table
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .filter(|f| !spec.is_key(f))
                .collect(),
        };
        if let Some(f) = lookup.rename.keys().find(|f| !names.contains(f)) {
            return Err(bad(format!(
                "rename names `{f}`, which is not one of the features looked up ({})",
                names.join(", ")
            )));
        }
        let probe = ProbePlan {
            table: t,
            spine_keys,
            spine_ts,
            lookback,
        };
        let probe = match probes.iter().position(|p| *p == probe) {
            Some(p) => p,
            None => {
                probes.push(probe);
                probes.len() - 1
            }
        };
        let plan = &mut plans[t];
        plan.lookback = lookback;
        for f in &names {
            let out = lookup.output_name(f).to_string();
            if spine_names.contains(&out.as_str()) {
                tracing::info!(
                    table = %lookup.table,
                    feature = %f,
                    "the spine already has column `{out}`; its values are kept and the feature is not joined"
                );
                continue;
            }
            if !taken.insert(out.clone()) {
                return Err(Error::BadRequest(format!(
                    "two lookups produce the output column `{out}` (the second is `{f}` of `{}`); rename one, e.g. rename={f}->{}_{f}",
                    lookup.table,
                    lookup.table.table()
                )));
            }
            if !plan.columns.contains(f) {
                plan.columns.push(f.clone());
            }
            let field = plan
                .table
                .schema
                .field_with_name(f)
                .map_err(|_| Error::Internal(format!("feature `{f}` vanished")))?
                .clone()
                .with_name(out.clone())
                .with_nullable(true);
            features.push((out, probe, f.clone(), t, field));
        }
    }

    // Exclusions must name something that would be in the output.
    for e in exclude {
        if !spine_names.contains(&e.as_str()) && !taken.contains(e) {
            return Err(Error::BadRequest(format!(
                "cannot exclude `{e}`: it is neither a spine column nor a looked-up feature"
            )));
        }
    }

    let mut columns = Vec::new();
    let mut fields = Vec::new();
    for (i, f) in spine.fields().iter().enumerate() {
        if !label_idx.contains(&i) && !exclude.contains(f.name()) {
            columns.push(OutColumn::Spine(i));
            fields.push(f.as_ref().clone());
        }
    }
    for (out, probe, feature, t, field) in features {
        if exclude.contains(&out) {
            continue;
        }
        let column = plans[t]
            .columns
            .iter()
            .position(|c| *c == feature)
            .ok_or_else(|| Error::Internal(format!("feature `{feature}` is not read")))?;
        columns.push(OutColumn::Feature { probe, column });
        fields.push(field);
    }
    for &i in &label_idx {
        columns.push(OutColumn::Spine(i));
        fields.push(spine.field(i).clone());
    }
    Ok(Plan {
        tables: plans,
        probes,
        columns,
        schema: Arc::new(Schema::new(fields)),
    })
}
