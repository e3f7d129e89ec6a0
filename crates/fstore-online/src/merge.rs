//! Backend-neutral planning of a merge into an existing online table: which layout columns must
//! be added, which conflict, and the layout to record in the bookkeeping table afterwards.

use fstore_core::FeatureType;

use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineColumn, OnlineLayout};

/// A column of the existing online table, as the backend sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingColumn {
    pub name: String,
    /// The database's own type name (`REAL`, `varchar(100)`, ...), for tables or columns fstore
    /// has no bookkeeping for.
    pub native_type: String,
    /// The fstore type recorded in the bookkeeping layout, when the column is in it.
    pub ftype: Option<FeatureType>,
    /// Is the column part of the online primary key?
    pub primary_key: bool,
}

/// What a merge must do before upserting.
#[derive(Clone, Debug, PartialEq)]
pub struct MergePlan {
    /// Layout columns the online table lacks, to add (nullable) in this order.
    pub add: Vec<OnlineColumn>,
    /// The layout of the online table after the merge (existing columns in table order, then the
    /// added ones): what the bookkeeping row records, so lookups can read every column.
    pub recorded: OnlineLayout,
    /// Does the online table have columns this merge does not write (which must keep their
    /// values)?
    pub untouched_columns: bool,
}

/// Compares the online table (`existing`, in table order; primary-key columns in key order via
/// `existing_keys`) with `layout`. `native_type(ftype, is_key)` is the backend's column type for a
/// feature type (compared case-insensitively when the bookkeeping does not know the column).
/// Fails with [`StoreErrorKind::Incompatible`] naming the column and the remedy.
pub fn plan_merge(
    layout: &OnlineLayout,
    existing: &[ExistingColumn],
    existing_keys: &[String],
    native_type: &dyn Fn(FeatureType, bool) -> String,
    feature_table: &str,
) -> Result<MergePlan> {
    let remedy = format!(
        "run `fstore publish {feature_table} --mode overwrite` to rebuild the online table"
    );
    if existing_keys != layout.primary_keys.as_slice() {
        return Err(StoreError::new(
            StoreErrorKind::Incompatible,
            format!(
                "online table `{}` has primary key ({}) but the feature table has ({}); {remedy}",
                layout.table,
                existing_keys.join(", "),
                layout.primary_keys.join(", ")
            ),
        ));
    }
    let mut add = Vec::new();
    for col in &layout.columns {
        let Some(online) = existing.iter().find(|e| e.name == col.name) else {
            add.push(col.clone());
            continue;
        };
        let compatible = match online.ftype {
            Some(t) => t == col.ftype,
            None => online
                .native_type
                .eq_ignore_ascii_case(&native_type(col.ftype, layout.is_primary_key(&col.name))),
        };
        if !compatible {
            let online_type = online
                .ftype
                .map_or_else(|| online.native_type.clone(), |t| t.name());
            return Err(StoreError::new(
                StoreErrorKind::Incompatible,
                format!(
                    "column `{}` is {online_type} online but {} offline; {remedy}",
                    col.name, col.ftype
                ),
            ));
        }
    }
    let mut columns: Vec<OnlineColumn> = existing
        .iter()
        .filter_map(|e| {
            let ftype = e
                .ftype
                .or_else(|| layout.column(&e.name).map(|c| c.ftype))?;
            Some(OnlineColumn {
                name: e.name.clone(),
                ftype,
            })
        })
        .collect();
    columns.extend(add.iter().cloned());
    let untouched_columns = existing.iter().any(|e| layout.column(&e.name).is_none());
    Ok(MergePlan {
        untouched_columns,
        add,
        recorded: OnlineLayout {
            table: layout.table.clone(),
            columns,
            primary_keys: layout.primary_keys.clone(),
            timestamp_key: layout.timestamp_key.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(cols: &[(&str, FeatureType)]) -> OnlineLayout {
        OnlineLayout {
            table: "t".into(),
            columns: cols
                .iter()
                .map(|(n, t)| OnlineColumn {
                    name: n.to_string(),
                    ftype: *t,
                })
                .collect(),
            primary_keys: vec!["id".into()],
            timestamp_key: None,
        }
    }

    fn existing(name: &str, native: &str, ftype: Option<FeatureType>) -> ExistingColumn {
        ExistingColumn {
            name: name.into(),
            native_type: native.into(),
            ftype,
            primary_key: name == "id",
        }
    }

    fn native(t: FeatureType, _key: bool) -> String {
        t.sqlite_type().to_string()
    }

    #[test]
    fn adds_missing_columns_and_keeps_unpublished_ones() {
        let l = layout(&[("id", FeatureType::BigInt), ("b", FeatureType::String)]);
        let e = [
            existing("id", "INTEGER", Some(FeatureType::BigInt)),
            existing("a", "REAL", Some(FeatureType::Double)),
        ];
        let plan = plan_merge(&l, &e, &["id".into()], &native, "s.t").unwrap();
        assert_eq!(plan.add.len(), 1);
        let names: Vec<_> = plan
            .recorded
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["id", "a", "b"]);
    }

    #[test]
    fn refuses_type_changes() {
        let l = layout(&[("id", FeatureType::BigInt), ("a", FeatureType::String)]);
        let e = [
            existing("id", "INTEGER", Some(FeatureType::BigInt)),
            existing("a", "REAL", Some(FeatureType::Double)),
        ];
        let err = plan_merge(&l, &e, &["id".into()], &native, "s.t").unwrap_err();
        assert_eq!(err.kind, StoreErrorKind::Incompatible);
        assert_eq!(
            err.message,
            "column `a` is double online but string offline; run `fstore publish s.t --mode overwrite` to rebuild the online table"
        );
        let e = [existing("id", "INTEGER", None), existing("a", "REAL", None)];
        let err = plan_merge(&l, &e, &["id".into()], &native, "s.t").unwrap_err();
        assert!(
            err.message
                .starts_with("column `a` is REAL online but string offline")
        );
        let err = plan_merge(&l, &e, &["other".into()], &native, "s.t").unwrap_err();
        assert!(err.message.contains("primary key (other)"));
    }
}
