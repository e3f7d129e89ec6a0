//! Library results → the Python dicts the pure-Python layer turns into `FeatureTable`,
//! `WriteReport` and `PublishReport` objects.

use fstore_offline::{FeatureTable, WriteOutcome};
use fstore_publish::PublishReport;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::online;

pub fn table_dict<'py>(py: Python<'py>, t: &FeatureTable) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", t.name.to_string())?;
    d.set_item("location", t.location.to_string())?;
    d.set_item("version", t.version)?;
    d.set_item("primary_keys", &t.spec.primary_keys)?;
    d.set_item("timestamp_key", &t.spec.timestamp_key)?;
    d.set_item("description", &t.spec.description)?;
    d.set_item("tags", &t.spec.tags)?;
    d.set_item("partition_columns", &t.partition_columns)?;
    d.set_item("change_data_feed", t.change_data_feed())?;
    Ok(d)
}

pub fn outcome_dict<'py>(
    py: Python<'py>,
    name: &str,
    o: &WriteOutcome,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("table", name)?;
    d.set_item(
        "mode",
        match o.mode {
            fstore_offline::WriteMode::Merge => "merge",
            fstore_offline::WriteMode::Overwrite => "overwrite",
        },
    )?;
    d.set_item("version", o.version)?;
    d.set_item("rows", o.rows)?;
    d.set_item("rows_inserted", o.rows_inserted)?;
    d.set_item("rows_updated", o.rows_updated)?;
    d.set_item("rows_deleted", o.rows_deleted)?;
    d.set_item("files_added", o.files_added)?;
    Ok(d)
}

/// A publish report; `summary` is what `fstore publish` prints.
pub fn report_dict<'py>(
    py: Python<'py>,
    store: &str,
    r: &PublishReport,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("feature_table", &r.feature_table)?;
    d.set_item("store", store)?;
    d.set_item("online_table", &r.online_table)?;
    d.set_item("delta_version", r.delta_version)?;
    d.set_item("mode", r.mode.as_str())?;
    d.set_item("method", online::method_name(&r.method))?;
    d.set_item("method_detail", r.method.to_string())?;
    d.set_item("rows_read", r.rows_read)?;
    d.set_item("inserted", r.write.inserted)?;
    d.set_item("updated", r.write.updated)?;
    d.set_item("skipped_older", r.write.skipped_older)?;
    d.set_item("deleted", r.write.deleted)?;
    d.set_item("bytes", r.write.bytes)?;
    d.set_item("commits", r.commits)?;
    d.set_item("elapsed_secs", r.elapsed.as_secs_f64())?;
    d.set_item("summary", online::summary(store, r))?;
    Ok(d)
}
