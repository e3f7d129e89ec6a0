//! The shape of an online table: which columns, in which order, with which types, keyed how.
//! Built once from the feature table's Arrow schema and spec, then handed to a backend.

use arrow::datatypes::Schema;
use fstore_core::{FeatureType, TableSpec};

use crate::error::{Result, StoreError, StoreErrorKind};

/// Version of the value encoding recorded with every layout (`"encoding"` in
/// [`OnlineLayout::to_json`]). 1 (absent): fstore before it followed Databricks' layout — MySQL
/// booleans as `TINYINT(1)`, nested values as arrow-json text (map entries with null values
/// dropped, binary as hex, NaN as null). 2: booleans `BIT(1)` and nested values in Spark's
/// `to_json` form (see `crate::spark_json`).
pub const VALUE_ENCODING: u64 = 2;

/// The value encoding a bookkeeping row's layout JSON records (1 when it records none).
pub fn recorded_encoding(json: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v["encoding"].as_u64())
        .unwrap_or(1)
}

/// One online column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineColumn {
    pub name: String,
    pub ftype: FeatureType,
}

/// An online table: name, columns in feature-table order, primary keys (without the timestamp
/// key) and the optional timestamp key (an ordinary column online).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineLayout {
    pub table: String,
    pub columns: Vec<OnlineColumn>,
    pub primary_keys: Vec<String>,
    pub timestamp_key: Option<String>,
}

impl OnlineLayout {
    /// Builds the layout for the columns of `schema` (already restricted to what is published).
    pub fn new(table: &str, schema: &Schema, spec: &TableSpec) -> Result<Self> {
        fstore_core::ident::validate_online_table_name(table)
            .map_err(|e| StoreError::new(StoreErrorKind::InvalidData, e.to_string()))?;
        let mut columns = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let ftype = FeatureType::from_arrow(f.name(), f.data_type())
                .map_err(|e| StoreError::new(StoreErrorKind::InvalidData, e.to_string()))?;
            columns.push(OnlineColumn {
                name: f.name().clone(),
                ftype,
            });
        }
        let layout = Self {
            table: table.to_string(),
            columns,
            primary_keys: spec.primary_keys.clone(),
            timestamp_key: spec.timestamp_key.clone(),
        };
        for k in spec.row_keys() {
            if layout.column(&k).is_none() {
                return Err(StoreError::new(
                    StoreErrorKind::InvalidData,
                    format!("key column `{k}` is missing from the published columns"),
                ));
            }
        }
        Ok(layout)
    }

    pub fn column(&self, name: &str) -> Option<&OnlineColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_primary_key(&self, name: &str) -> bool {
        self.primary_keys.iter().any(|k| k == name)
    }

    /// The layout of a batch of keys: the primary-key columns only, in primary-key order (what
    /// [`crate::ChangeSet::deletes`] holds).
    pub fn keys_only(&self) -> Self {
        Self {
            table: self.table.clone(),
            columns: self
                .primary_keys
                .iter()
                .filter_map(|k| self.column(k).cloned())
                .collect(),
            primary_keys: self.primary_keys.clone(),
            timestamp_key: None,
        }
    }

    /// The same layout without the timestamp rule: upserts replace rows whatever their
    /// timestamp (a complete resync).
    pub fn without_timestamp_rule(&self) -> Self {
        Self {
            timestamp_key: None,
            ..self.clone()
        }
    }

    /// Columns that are not primary keys (the timestamp key is one of them), in order.
    pub fn value_columns(&self) -> impl Iterator<Item = &OnlineColumn> {
        self.columns
            .iter()
            .filter(|c| !self.is_primary_key(&c.name))
    }

    /// Serialises the layout for the bookkeeping table (stable JSON).
    pub fn to_json(&self) -> String {
        let cols: Vec<serde_json::Value> = self
            .columns
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "type": c.ftype.name()}))
            .collect();
        serde_json::json!({
            "columns": cols,
            "primary_keys": self.primary_keys,
            "timestamp_key": self.timestamp_key,
            "encoding": VALUE_ENCODING,
        })
        .to_string()
    }

    /// Parses [`OnlineLayout::to_json`] output.
    pub fn from_json(table: &str, json: &str) -> Result<Self> {
        let bad = |what: &str| {
            StoreError::new(
                StoreErrorKind::Database,
                format!(
                    "bookkeeping row for `{table}` is corrupt ({what}); republish with --mode overwrite"
                ),
            )
        };
        let v: serde_json::Value = serde_json::from_str(json).map_err(|_| bad("not JSON"))?;
        let mut columns = Vec::new();
        for c in v["columns"].as_array().ok_or_else(|| bad("no columns"))? {
            let name = c["name"].as_str().ok_or_else(|| bad("column name"))?;
            let t = c["type"].as_str().ok_or_else(|| bad("column type"))?;
            columns.push(OnlineColumn {
                name: name.to_string(),
                ftype: FeatureType::parse_name(t).ok_or_else(|| bad("unknown type"))?,
            });
        }
        let primary_keys = v["primary_keys"]
            .as_array()
            .ok_or_else(|| bad("no primary keys"))?
            .iter()
            .map(|k| {
                k.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("primary key"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            table: table.to_string(),
            columns,
            primary_keys,
            timestamp_key: v["timestamp_key"].as_str().map(str::to_string),
        })
    }
}
