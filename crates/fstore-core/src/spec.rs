//! What makes a Delta table a feature table: its primary keys, optional timestamp key, description
//! and tags. The spec lives in the Delta table's own metadata (table properties under `fstore.`,
//! description in the table's `description`), so the table alone is the catalog entry and any
//! Delta reader still sees an ordinary table.

use std::collections::{BTreeMap, HashMap};

use arrow_schema::Schema;

use crate::error::{Error, Result};
use crate::ident::validate_column_name;
use crate::types::FeatureType;

/// Table property holding the primary keys as a JSON array of column names.
pub const PROP_PRIMARY_KEYS: &str = "fstore.primaryKeys";
/// Table property holding the timestamp key column name (absent for non-time-series tables).
pub const PROP_TIMESTAMP_KEY: &str = "fstore.timestampKey";
/// Table property holding the tags as a JSON object of strings.
pub const PROP_TAGS: &str = "fstore.tags";

/// The feature-table contract. Primary keys never include the timestamp key.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TableSpec {
    pub primary_keys: Vec<String>,
    pub timestamp_key: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl TableSpec {
    /// Builds a spec the way Databricks' `create_table` does: a timestamp key listed among the primary
    /// keys is split out; at least one non-timestamp primary key is required; no duplicates.
    pub fn new(primary_keys: Vec<String>, timestamp_key: Option<String>) -> Result<Self> {
        let mut pks = Vec::new();
        for k in primary_keys {
            if Some(&k) == timestamp_key.as_ref() {
                continue;
            }
            if pks.contains(&k) {
                return Err(Error::InvalidSpec(format!(
                    "primary key `{k}` is listed twice"
                )));
            }
            validate_column_name(&k)?;
            pks.push(k);
        }
        if pks.is_empty() {
            return Err(Error::InvalidSpec(
                "at least one primary key other than the timestamp key is required (--primary-key)"
                    .into(),
            ));
        }
        Ok(Self {
            primary_keys: pks,
            timestamp_key,
            description: None,
            tags: BTreeMap::new(),
        })
    }

    /// Primary keys followed by the timestamp key: the columns that identify one offline row.
    pub fn row_keys(&self) -> Vec<String> {
        let mut keys = self.primary_keys.clone();
        keys.extend(self.timestamp_key.clone());
        keys
    }

    pub fn is_time_series(&self) -> bool {
        self.timestamp_key.is_some()
    }

    /// Is `column` a primary key or the timestamp key?
    pub fn is_key(&self, column: &str) -> bool {
        self.primary_keys.iter().any(|k| k == column)
            || self.timestamp_key.as_deref() == Some(column)
    }

    /// Checks the spec against a schema: every key exists, keys have key-able types, the timestamp
    /// key is a timestamp or date, and every column has a supported type.
    pub fn validate_against(&self, schema: &Schema) -> Result<()> {
        for field in schema.fields() {
            validate_column_name(field.name())?;
            FeatureType::from_arrow(field.name(), field.data_type())?;
        }
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        for k in self.row_keys() {
            if !names.contains(&k.as_str()) {
                return Err(Error::InvalidSpec(format!(
                    "key column `{k}` is not in the data; columns are: {}",
                    names.join(", ")
                )));
            }
        }
        for k in &self.primary_keys {
            let f = schema.field_with_name(k).expect("checked above");
            let t = FeatureType::from_arrow(k, f.data_type())?;
            if !t.can_be_primary_key() {
                return Err(Error::InvalidSpec(format!(
                    "primary key `{k}` has type {t}, which cannot be a primary key (use an integer, string, date or decimal column)"
                )));
            }
        }
        if let Some(ts) = &self.timestamp_key {
            let f = schema.field_with_name(ts).expect("checked above");
            let t = FeatureType::from_arrow(ts, f.data_type())?;
            if !matches!(t, FeatureType::Timestamp | FeatureType::Date) {
                return Err(Error::InvalidSpec(format!(
                    "timestamp key `{ts}` has type {t}; it must be a timestamp or a date"
                )));
            }
        }
        Ok(())
    }

    /// The table properties that carry this spec in Delta metadata.
    pub fn to_properties(&self) -> HashMap<String, String> {
        let mut p = HashMap::new();
        p.insert(
            PROP_PRIMARY_KEYS.to_string(),
            serde_json::to_string(&self.primary_keys).expect("strings serialize"),
        );
        if let Some(ts) = &self.timestamp_key {
            p.insert(PROP_TIMESTAMP_KEY.to_string(), ts.clone());
        }
        if !self.tags.is_empty() {
            p.insert(
                PROP_TAGS.to_string(),
                serde_json::to_string(&self.tags).expect("strings serialize"),
            );
        }
        p
    }

    /// Reads a spec back from Delta table properties and description. `None` if the table was never
    /// made a feature table (no primary keys recorded).
    pub fn from_properties(
        props: &HashMap<String, String>,
        description: Option<&str>,
    ) -> Result<Option<Self>> {
        let Some(pks) = props.get(PROP_PRIMARY_KEYS) else {
            return Ok(None);
        };
        let primary_keys: Vec<String> = serde_json::from_str(pks).map_err(|e| {
            Error::InvalidSpec(format!(
                "table property {PROP_PRIMARY_KEYS} is not a JSON list: {e}"
            ))
        })?;
        let tags = match props.get(PROP_TAGS) {
            Some(t) => serde_json::from_str(t).map_err(|e| {
                Error::InvalidSpec(format!(
                    "table property {PROP_TAGS} is not a JSON object: {e}"
                ))
            })?,
            None => BTreeMap::new(),
        };
        let mut spec = Self::new(primary_keys, props.get(PROP_TIMESTAMP_KEY).cloned())?;
        spec.description = description.filter(|d| !d.is_empty()).map(str::to_string);
        spec.tags = tags;
        Ok(Some(spec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, TimeUnit};

    #[test]
    fn timestamp_key_is_split_out_of_primary_keys() {
        let s = TableSpec::new(vec!["id".into(), "ts".into()], Some("ts".into())).unwrap();
        assert_eq!(s.primary_keys, vec!["id"]);
        assert_eq!(s.row_keys(), vec!["id", "ts"]);
    }

    #[test]
    fn needs_a_non_timestamp_primary_key() {
        let e = TableSpec::new(vec!["ts".into()], Some("ts".into())).unwrap_err();
        assert!(e.to_string().contains("at least one primary key"));
    }

    #[test]
    fn properties_round_trip() {
        let mut s = TableSpec::new(vec!["a".into(), "b".into()], Some("t".into())).unwrap();
        s.description = Some("desc".into());
        s.tags.insert("team".into(), "ml".into());
        let props = s.to_properties();
        let back = TableSpec::from_properties(&props, Some("desc"))
            .unwrap()
            .unwrap();
        assert_eq!(s, back);
        assert!(
            TableSpec::from_properties(&HashMap::new(), None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn validate_against_schema() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("x", DataType::Float64, true),
        ]);
        TableSpec::new(vec!["id".into()], Some("ts".into()))
            .unwrap()
            .validate_against(&schema)
            .unwrap();
        let e = TableSpec::new(vec!["nope".into()], None)
            .unwrap()
            .validate_against(&schema)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("key column `nope` is not in the data")
        );
        let e = TableSpec::new(vec!["x".into()], None)
            .unwrap()
            .validate_against(&schema)
            .unwrap_err();
        assert!(e.to_string().contains("cannot be a primary key"));
        let e = TableSpec::new(vec!["id".into()], Some("x".into()))
            .unwrap()
            .validate_against(&schema)
            .unwrap_err();
        assert!(e.to_string().contains("must be a timestamp"));
    }
}
