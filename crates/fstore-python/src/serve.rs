//! `fstore._fstore.ServeClient`: lookups through a running `fstore serve`, over the Rust
//! `fstore-client` (no Python HTTP library). Answers come back as Arrow tables typed like the
//! in-process lookups: feature columns by the types the server's metadata names (decimals from
//! their exact strings, timestamps from RFC 3339, binary from base64), key and row columns by
//! their JSON values.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use base64::Engine as _;
use fstore_core::{FeatureType, Value};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::PyTable;
use serde_json::{Map, Value as J};

use crate::convert::to_table;
use crate::errors::{Class, Error, Result};
use crate::online::{arrow_type, build};
use crate::runtime::wait;

impl From<fstore_client::Error> for Error {
    fn from(e: fstore_client::Error) -> Self {
        let class = match e.status() {
            Some(404) => Class::TableNotFound,
            Some(400 | 413 | 422) => Class::InvalidInput,
            status => Class::Serve(status),
        };
        Error {
            class,
            message: e.to_string(),
        }
    }
}

fn decode(message: impl std::fmt::Display) -> Error {
    Error {
        class: Class::Serve(None),
        message: format!("unexpected response from the server: {message}"),
    }
}

#[pyclass(frozen, module = "fstore._fstore")]
pub struct ServeClient {
    client: fstore_client::Client,
    url: String,
}

/// One feature-vector lookup: `(table, lookup_key, features, rename)`.
type VectorLookupTuple = (
    String,
    Vec<String>,
    Option<Vec<String>>,
    std::collections::BTreeMap<String, String>,
);

#[pymethods]
impl ServeClient {
    #[new]
    #[pyo3(signature = (url, token=None, timeout_secs=30.0))]
    fn new(url: String, token: Option<String>, timeout_secs: f64) -> PyResult<Self> {
        let timeout = Duration::try_from_secs_f64(timeout_secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::invalid("timeout must be a positive number of seconds"))?;
        let client =
            fstore_client::Client::with_timeout(&url, token, timeout).map_err(|e| Error {
                class: Class::InvalidInput,
                message: e.to_string(),
            })?;
        Ok(Self { client, url })
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// `GET /readyz`: raises unless the server can reach its online store.
    fn ready(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.client.clone();
        wait(
            py,
            || async move { Ok(c.ready().await.map_err(Error::from)?) },
        )
    }

    /// Table lookup. `keys_json`: a JSON array of key objects. Returns the rows (key columns in
    /// primary-key order, then the features) and the response metadata.
    #[pyo3(signature = (table, keys_json, features=None))]
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        table: &str,
        keys_json: &str,
        features: Option<Vec<String>>,
    ) -> PyResult<(PyTable, Bound<'py, PyDict>)> {
        let keys = json_array(keys_json, "keys")?;
        let c = self.client.clone();
        let answer = wait(py, || async move {
            let f: Option<Vec<&str>> = features
                .as_ref()
                .map(|f| f.iter().map(String::as_str).collect());
            Ok(c.lookup(table, &keys, f.as_deref())
                .await
                .map(|a| (a, keys))
                .map_err(Error::from)?)
        })?;
        let (answer, keys) = answer;
        let m = &answer.metadata;
        let mut columns: Vec<(String, Option<FeatureType>)> =
            m.primary_keys.iter().map(|k| (k.clone(), None)).collect();
        for f in &m.features {
            if !m.primary_keys.contains(&f.name) {
                columns.push((f.name.clone(), Some(feature_type(&f.ftype)?)));
            }
        }
        // A key that is not online comes back as `null`: its key columns are the request's.
        let rows: Vec<&Map<String, J>> = answer
            .results
            .iter()
            .zip(&keys)
            .map(|(r, k)| match (r, k) {
                (Some(r), _) => Ok(r),
                (None, J::Object(k)) => Ok(k),
                (None, _) => Err(Error::invalid("each key must be an object")),
            })
            .collect::<Result<_>>()?;
        let missing: Vec<bool> = answer.results.iter().map(Option::is_none).collect();
        let (schema, batch) = frame(&columns, &rows, &missing)?;
        let meta = PyDict::new(py);
        meta.set_item("feature_table", &m.feature_table)?;
        meta.set_item("online_table", &m.online_table)?;
        meta.set_item("delta_version", m.delta_version)?;
        meta.set_item("primary_keys", &m.primary_keys)?;
        let types: Vec<(&str, &str)> = m
            .features
            .iter()
            .map(|f| (f.name.as_str(), f.ftype.as_str()))
            .collect();
        meta.set_item("features", types)?;
        Ok((to_table(schema, vec![batch])?, meta))
    }

    /// Feature-vector lookup: each row of `rows_json` merged with the features its lookups find.
    /// `row_columns`: the row fields in the order to return them.
    fn lookup_vectors<'py>(
        &self,
        py: Python<'py>,
        rows_json: &str,
        row_columns: Vec<String>,
        lookups: Vec<VectorLookupTuple>,
    ) -> PyResult<(PyTable, Bound<'py, PyDict>)> {
        let rows = json_array(rows_json, "rows")?;
        let lookups: Vec<fstore_client::FeatureLookup> = lookups
            .into_iter()
            .map(
                |(table, lookup_key, features, rename)| fstore_client::FeatureLookup {
                    table,
                    lookup_key,
                    features,
                    rename,
                },
            )
            .collect();
        let c = self.client.clone();
        let answer = wait(py, || async move {
            Ok(c.lookup_vectors(&rows, &lookups)
                .await
                .map_err(Error::from)?)
        })?;
        let mut columns: Vec<(String, Option<FeatureType>)> =
            row_columns.into_iter().map(|c| (c, None)).collect();
        for f in &answer.metadata.features {
            let t = feature_type(&f.ftype)?;
            match columns.iter_mut().find(|(n, _)| *n == f.name) {
                Some(c) => c.1 = Some(t),
                None => columns.push((f.name.clone(), Some(t))),
            }
        }
        let rows: Vec<&Map<String, J>> = answer.results.iter().collect();
        let (schema, batch) = frame(&columns, &rows, &vec![false; rows.len()])?;
        let meta = PyDict::new(py);
        let tables: Vec<(&str, &str, &str, i64)> = answer
            .metadata
            .tables
            .iter()
            .map(|t| {
                (
                    t.table.as_str(),
                    t.feature_table.as_str(),
                    t.online_table.as_str(),
                    t.delta_version,
                )
            })
            .collect();
        meta.set_item("tables", tables)?;
        Ok((to_table(schema, vec![batch])?, meta))
    }

    fn __repr__(&self) -> String {
        // Never the token.
        format!("fstore.ServeClient({:?})", self.url)
    }
}

fn json_array(text: &str, what: &str) -> Result<Vec<J>> {
    match serde_json::from_str::<J>(text) {
        Ok(J::Array(a)) => Ok(a),
        Ok(_) => Err(Error::invalid(format!("{what} must be a list"))),
        Err(e) => Err(Error::invalid(format!("{what}: {e}"))),
    }
}

fn feature_type(name: &str) -> Result<FeatureType> {
    FeatureType::parse_name(name).ok_or_else(|| decode(format!("unknown feature type `{name}`")))
}

/// One Arrow batch: `columns` (a `None` type: inferred from the JSON values), one row per map.
/// `missing[i]`: row `i` is a key that is not online (its feature cells are NULL).
fn frame(
    columns: &[(String, Option<FeatureType>)],
    rows: &[&Map<String, J>],
    missing: &[bool],
) -> Result<(SchemaRef, RecordBatch)> {
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (name, ftype) in columns {
        let cells: Vec<&J> = rows
            .iter()
            .zip(missing)
            .map(|(r, &gone)| match (gone, ftype) {
                (true, Some(_)) => &J::Null,
                _ => r.get(name).unwrap_or(&J::Null),
            })
            .collect();
        let t = match ftype {
            Some(t) => *t,
            None => infer(&cells),
        };
        let values = cells
            .iter()
            .map(|j| value(t, j).map_err(|e| decode(format!("column `{name}`: {e}"))))
            .collect::<Result<Vec<Value>>>()?;
        arrays.push(build(t, values.iter().map(Some))?);
        fields.push(Field::new(name, arrow_type(t), true));
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?;
    Ok((schema, batch))
}

/// The type of a column the server's metadata does not type (keys, request row fields).
fn infer(cells: &[&J]) -> FeatureType {
    let mut t: Option<FeatureType> = None;
    for c in cells {
        let this = match c {
            J::Null => continue,
            J::Bool(_) => FeatureType::Boolean,
            J::Number(n) if n.is_i64() => FeatureType::BigInt,
            J::Number(_) => FeatureType::Double,
            _ => FeatureType::String,
        };
        t = Some(match (t, this) {
            (None, x) => x,
            (Some(a), b) if a == b => a,
            (Some(FeatureType::BigInt), FeatureType::Double)
            | (Some(FeatureType::Double), FeatureType::BigInt) => FeatureType::Double,
            _ => FeatureType::String,
        });
    }
    t.unwrap_or(FeatureType::String)
}

/// A JSON cell as a value of `t`: the inverse of the server's mapping (fstore-serve's `json`).
fn value(t: FeatureType, j: &J) -> std::result::Result<Value, String> {
    use FeatureType as T;
    let bad = || format!("{j} is not a {t} value");
    Ok(match (t, j) {
        (_, J::Null) => Value::Null,
        (T::SmallInt | T::Int | T::BigInt, J::Number(n)) => Value::Int(n.as_i64().ok_or_else(bad)?),
        (T::Float | T::Double, J::Number(n)) => Value::Float(n.as_f64().ok_or_else(bad)?),
        (T::Boolean, J::Bool(b)) => Value::Bool(*b),
        (T::Decimal { .. }, J::String(s)) => Value::Decimal(s.clone()),
        (T::Decimal { .. }, J::Number(n)) => Value::Decimal(n.to_string()),
        (T::String, J::String(s)) => Value::String(s.clone()),
        // Inferred string columns hold whatever else the rows carried, as JSON text.
        (T::String, other) => Value::String(other.to_string()),
        (T::Json, other) => Value::Json(other.to_string()),
        (T::Binary, J::String(s)) => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| bad())?,
        ),
        (T::Date, J::String(s)) => Value::Date(fstore_core::value::parse_date(s).ok_or_else(bad)?),
        (T::Timestamp, J::String(s)) => Value::Timestamp(
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_micros())
                .ok()
                .or_else(|| fstore_core::value::parse_timestamp(s))
                .ok_or_else(bad)?,
        ),
        _ => return Err(bad()),
    })
}
