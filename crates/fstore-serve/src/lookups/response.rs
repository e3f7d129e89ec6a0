//! The answers of [`super::Lookups`] and how they serialize as the HTTP response bodies: typed
//! values written straight to JSON, without an intermediate `serde_json::Value`.

use fstore_core::{FeatureType, Value};
use fstore_online::LookupResult;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde_json::{Map, Value as J};

use crate::json::JsonValue;

/// The answer to a table lookup, with typed values. Serializes as the HTTP response:
/// `{"results": [{key..., feature...} | null, ...], "metadata": {...}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct TableLookupResponse {
    pub feature_table: String,
    pub online_table: String,
    /// Delta version of the layout the lookup used.
    pub delta_version: i64,
    pub primary_keys: Vec<String>,
    /// The request's keys, typed, in primary-key order.
    pub keys: Vec<Vec<Value>>,
    /// Feature columns and one row per key (`None`: not online).
    pub result: LookupResult,
}

impl TableLookupResponse {
    /// The HTTP response body as a `serde_json::Value`.
    pub fn to_json(&self) -> J {
        serde_json::to_value(self).unwrap_or(J::Null)
    }
}

struct FeatureMeta<'a>(&'a [(String, FeatureType)]);

impl Serialize for FeatureMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (name, ftype) in self.0 {
            seq.serialize_element(&NameType(name, *ftype))?;
        }
        seq.end()
    }
}

/// `{"name": …, "type": …}`, written straight to the output (no intermediate JSON map).
struct NameType<'a>(&'a str, FeatureType);

impl Serialize for NameType<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Feature", 2)?;
        m.serialize_field("name", self.0)?;
        m.serialize_field("type", &self.1.name())?;
        m.end()
    }
}

struct TableRow<'a> {
    pks: &'a [String],
    key: &'a [Value],
    columns: &'a [(String, FeatureType)],
    /// `is_key[i]`: column `i` is a primary key, already written from the request's key.
    is_key: &'a [bool],
    values: &'a [Value],
}

impl Serialize for TableRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.pks.iter().zip(self.key) {
            m.serialize_entry(k, &JsonValue(v))?;
        }
        for (((name, _), v), &is_key) in self.columns.iter().zip(self.values).zip(self.is_key) {
            if !is_key {
                m.serialize_entry(name, &JsonValue(v))?;
            }
        }
        m.end()
    }
}

struct TableResults<'a>(&'a TableLookupResponse);

impl Serialize for TableResults<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        // Once per response, not per row and column.
        let is_key: Vec<bool> = (r.result.columns.iter())
            .map(|(name, _)| r.primary_keys.contains(name))
            .collect();
        let mut seq = s.serialize_seq(Some(r.result.rows.len()))?;
        for (key, row) in r.keys.iter().zip(&r.result.rows) {
            match row {
                None => seq.serialize_element(&())?,
                Some(values) => seq.serialize_element(&TableRow {
                    pks: &r.primary_keys,
                    key,
                    columns: &r.result.columns,
                    is_key: &is_key,
                    values,
                })?,
            }
        }
        seq.end()
    }
}

impl Serialize for TableLookupResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Meta<'a>(&'a TableLookupResponse);
        impl Serialize for Meta<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let r = self.0;
                let mut m = s.serialize_struct("Metadata", 5)?;
                m.serialize_field("feature_table", &r.feature_table)?;
                m.serialize_field("online_table", &r.online_table)?;
                m.serialize_field("delta_version", &r.delta_version)?;
                m.serialize_field("primary_keys", &r.primary_keys)?;
                m.serialize_field("features", &FeatureMeta(&r.result.columns))?;
                m.end()
            }
        }
        let mut m = s.serialize_struct("TableLookupResponse", 2)?;
        m.serialize_field("results", &TableResults(self))?;
        m.serialize_field("metadata", &Meta(self))?;
        m.end()
    }
}

/// One output column of a vector lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// Name in the merged row (after `rename`).
    pub name: String,
    /// Feature column in the table.
    pub feature: String,
    pub ftype: FeatureType,
}

/// One table's share of a vector lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorPart {
    /// The table as the request named it.
    pub table: String,
    pub feature_table: String,
    pub online_table: String,
    pub delta_version: i64,
    pub outputs: Vec<Output>,
    /// For each request row, the index of its key in `result.rows` (`None`: null lookup key).
    pub slots: Vec<Option<usize>>,
    pub result: LookupResult,
}

impl VectorPart {
    /// The feature values of request row `i` (`None`: key not online or null).
    pub fn values(&self, i: usize) -> Option<&[Value]> {
        let k = (*self.slots.get(i)?)?;
        self.result.rows.get(k)?.as_deref()
    }
}

/// The answer to a vector lookup. Serializes as the HTTP response:
/// `{"results": [{row fields..., outputs...}, ...], "metadata": {"features": [...], "tables": [...]}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorLookupResponse {
    /// The request's rows.
    pub rows: Vec<Map<String, J>>,
    /// One part per lookup, in request order.
    pub parts: Vec<VectorPart>,
}

impl VectorLookupResponse {
    /// The HTTP response body as a `serde_json::Value`.
    pub fn to_json(&self) -> J {
        serde_json::to_value(self).unwrap_or(J::Null)
    }
}

struct MergedRow<'a>(&'a VectorLookupResponse, usize);

impl Serialize for MergedRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, i) = (self.0, self.1);
        let mut m = s.serialize_map(None)?;
        if let Some(row) = r.rows.get(i) {
            for (k, v) in row {
                m.serialize_entry(k, v)?;
            }
        }
        for part in &r.parts {
            let values = part.values(i);
            for (o, out) in part.outputs.iter().enumerate() {
                match values.and_then(|v| v.get(o)) {
                    Some(v) => m.serialize_entry(&out.name, &JsonValue(v))?,
                    None => m.serialize_entry(&out.name, &())?,
                }
            }
        }
        m.end()
    }
}

impl Serialize for VectorLookupResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Results<'a>(&'a VectorLookupResponse);
        impl Serialize for Results<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
                for i in 0..self.0.rows.len() {
                    seq.serialize_element(&MergedRow(self.0, i))?;
                }
                seq.end()
            }
        }
        struct Meta<'a>(&'a VectorLookupResponse);
        impl Serialize for Meta<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // Keys in the order a JSON map would sort them (the body's documented shape).
                struct OutputMeta<'a>(&'a VectorPart, &'a Output);
                impl Serialize for OutputMeta<'_> {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        let (p, o) = (self.0, self.1);
                        let mut m = s.serialize_struct("Output", 4)?;
                        m.serialize_field("feature", &o.feature)?;
                        m.serialize_field("name", &o.name)?;
                        m.serialize_field("table", &p.table)?;
                        m.serialize_field("type", &o.ftype.name())?;
                        m.end()
                    }
                }
                struct TableMeta<'a>(&'a VectorPart);
                impl Serialize for TableMeta<'_> {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        let p = self.0;
                        let mut m = s.serialize_struct("Table", 4)?;
                        m.serialize_field("delta_version", &p.delta_version)?;
                        m.serialize_field("feature_table", &p.feature_table)?;
                        m.serialize_field("online_table", &p.online_table)?;
                        m.serialize_field("table", &p.table)?;
                        m.end()
                    }
                }
                let features: Vec<OutputMeta<'_>> = self
                    .0
                    .parts
                    .iter()
                    .flat_map(|p| p.outputs.iter().map(move |o| OutputMeta(p, o)))
                    .collect();
                let tables: Vec<TableMeta<'_>> = self.0.parts.iter().map(TableMeta).collect();
                let mut m = s.serialize_struct("Metadata", 2)?;
                m.serialize_field("features", &features)?;
                m.serialize_field("tables", &tables)?;
                m.end()
            }
        }
        let mut m = s.serialize_struct("VectorLookupResponse", 2)?;
        m.serialize_field("results", &Results(self))?;
        m.serialize_field("metadata", &Meta(self))?;
        m.end()
    }
}
