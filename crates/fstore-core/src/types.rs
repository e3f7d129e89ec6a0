//! The one type mapping: Arrow (what Delta gives us) → fstore's [`FeatureType`] → the column type in
//! each online store. `docs/type-mapping.md` is this table in prose; a test keeps them in step.
//!
//! | Arrow / Delta                  | FeatureType   | MySQL / Aurora                     | SQLite (STRICT) |
//! |--------------------------------|---------------|------------------------------------|-----------------|
//! | Int8, Int16, UInt8             | SmallInt      | `SMALLINT`                         | `INTEGER`       |
//! | Int32, UInt16                  | Int           | `INT`                              | `INTEGER`       |
//! | Int64, UInt32                  | BigInt        | `BIGINT`                           | `INTEGER`       |
//! | Float32                        | Float         | `FLOAT`                            | `REAL`          |
//! | Float64                        | Double        | `DOUBLE`                           | `REAL`          |
//! | Decimal128(p, s)               | Decimal(p, s) | `DECIMAL(p,s)`                     | `TEXT` (exact)  |
//! | Boolean                        | Boolean       | `BIT(1)`                           | `INTEGER` 0/1   |
//! | Utf8, LargeUtf8, Utf8View      | String        | key: `VARCHAR(100)`, else `LONGTEXT` | `TEXT`        |
//! | Binary, LargeBinary, ...       | Binary        | `LONGBLOB`                         | `BLOB`          |
//! | Date32, Date64                 | Date          | `DATE`                             | `TEXT` `YYYY-MM-DD` |
//! | Timestamp(any unit, any tz)    | Timestamp     | `DATETIME(6)` in UTC               | `TEXT` `YYYY-MM-DD HH:MM:SS.ffffff` UTC |
//! | List, LargeList, Map, Struct   | Json          | `LONGTEXT` holding JSON            | `TEXT` holding JSON |
//!
//! MySQL follows the layout Databricks' publisher (Spark's JDBC MySQL dialect) writes wherever its
//! readers would otherwise see another value: booleans are `BIT(1)`, which Databricks' lookup
//! runtime decodes as one byte (it fails on `TINYINT(1)`). Two improvements its readers accept
//! stay: binary is `LONGBLOB` because `BLOB` caps values at 64 KiB, and timestamps are
//! `DATETIME(6)`, not `TIMESTAMP`, which drops sub-seconds and ends in 2038.

use std::fmt;

use arrow_schema::DataType;

use crate::error::{Error, Result};

/// Longest string primary key, in characters (Databricks' `MAX_PRIMARY_KEY_STRING_LENGTH_CHARS`).
pub const MAX_STRING_KEY_CHARS: usize = 100;

/// The logical type of a feature column, independent of any store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureType {
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal { precision: u8, scale: i8 },
    Boolean,
    String,
    Binary,
    Date,
    Timestamp,
    Json,
}

impl FeatureType {
    /// Maps an Arrow type, or explains why it cannot be published.
    pub fn from_arrow(column: &str, dt: &DataType) -> Result<Self> {
        use DataType as D;
        let unsupported = |hint: &str| Error::UnsupportedType {
            column: column.to_string(),
            arrow_type: dt.to_string(),
            hint: hint.to_string(),
        };
        Ok(match dt {
            D::Int8 | D::Int16 | D::UInt8 => Self::SmallInt,
            D::Int32 | D::UInt16 => Self::Int,
            D::Int64 | D::UInt32 => Self::BigInt,
            D::UInt64 => {
                return Err(unsupported(
                    "cast it to a signed 64-bit integer or a decimal",
                ));
            }
            D::Float16 => return Err(unsupported("cast it to float32")),
            D::Float32 => Self::Float,
            D::Float64 => Self::Double,
            D::Decimal128(p, s) => {
                if *p > 65 || *s < 0 || *s > 30 {
                    return Err(unsupported(
                        "MySQL decimals allow precision ≤ 65 and scale 0..=30",
                    ));
                }
                Self::Decimal {
                    precision: *p,
                    scale: *s,
                }
            }
            D::Decimal256(..) | D::Decimal32(..) | D::Decimal64(..) => {
                return Err(unsupported("use decimal128 (precision ≤ 38)"));
            }
            D::Boolean => Self::Boolean,
            D::Utf8 | D::LargeUtf8 | D::Utf8View => Self::String,
            D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => Self::Binary,
            D::Date32 | D::Date64 => Self::Date,
            D::Timestamp(..) => Self::Timestamp,
            D::List(_) | D::LargeList(_) | D::FixedSizeList(..) | D::Map(..) | D::Struct(_) => {
                Self::Json
            }
            D::Null => {
                return Err(unsupported(
                    "the column has no type (all values null); give it one",
                ));
            }
            D::Dictionary(_, value) => return Self::from_arrow(column, value),
            _ => return Err(unsupported("use one of the documented feature types")),
        })
    }

    /// Can this type be (part of) an online primary key?
    pub fn can_be_primary_key(self) -> bool {
        matches!(
            self,
            Self::SmallInt
                | Self::Int
                | Self::BigInt
                | Self::String
                | Self::Date
                | Self::Decimal { .. }
        )
    }

    /// MySQL/MariaDB column type. String keys are `VARCHAR(100)`; everything else as the table above.
    pub fn mysql_type(self, is_key: bool) -> String {
        match self {
            Self::SmallInt => "SMALLINT".into(),
            Self::Int => "INT".into(),
            Self::BigInt => "BIGINT".into(),
            Self::Float => "FLOAT".into(),
            Self::Double => "DOUBLE".into(),
            Self::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            Self::Boolean => "BIT(1)".into(),
            Self::String if is_key => format!("VARCHAR({MAX_STRING_KEY_CHARS})"),
            Self::String | Self::Json => "LONGTEXT".into(),
            Self::Binary => "LONGBLOB".into(),
            Self::Date => "DATE".into(),
            Self::Timestamp => "DATETIME(6)".into(),
        }
    }

    /// SQLite column type for a `STRICT` table.
    pub fn sqlite_type(self) -> &'static str {
        match self {
            Self::SmallInt | Self::Int | Self::BigInt | Self::Boolean => "INTEGER",
            Self::Float | Self::Double => "REAL",
            Self::Decimal { .. } | Self::String | Self::Date | Self::Timestamp | Self::Json => {
                "TEXT"
            }
            Self::Binary => "BLOB",
        }
    }

    /// The stable name used in metadata (bookkeeping rows, HTTP responses, docs).
    pub fn name(self) -> String {
        match self {
            Self::SmallInt => "smallint".into(),
            Self::Int => "int".into(),
            Self::BigInt => "bigint".into(),
            Self::Float => "float".into(),
            Self::Double => "double".into(),
            Self::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            Self::Boolean => "boolean".into(),
            Self::String => "string".into(),
            Self::Binary => "binary".into(),
            Self::Date => "date".into(),
            Self::Timestamp => "timestamp".into(),
            Self::Json => "json".into(),
        }
    }

    /// Parses [`FeatureType::name`] back.
    pub fn parse_name(s: &str) -> Option<Self> {
        Some(match s {
            "smallint" => Self::SmallInt,
            "int" => Self::Int,
            "bigint" => Self::BigInt,
            "float" => Self::Float,
            "double" => Self::Double,
            "boolean" => Self::Boolean,
            "string" => Self::String,
            "binary" => Self::Binary,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "json" => Self::Json,
            other => {
                let inner = other.strip_prefix("decimal(")?.strip_suffix(')')?;
                let (p, s) = inner.split_once(',')?;
                Self::Decimal {
                    precision: p.trim().parse().ok()?,
                    scale: s.trim().parse().ok()?,
                }
            }
        })
    }
}

impl fmt::Display for FeatureType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn names_round_trip() {
        for t in [
            FeatureType::SmallInt,
            FeatureType::Int,
            FeatureType::BigInt,
            FeatureType::Float,
            FeatureType::Double,
            FeatureType::Decimal {
                precision: 10,
                scale: 2,
            },
            FeatureType::Boolean,
            FeatureType::String,
            FeatureType::Binary,
            FeatureType::Date,
            FeatureType::Timestamp,
            FeatureType::Json,
        ] {
            assert_eq!(FeatureType::parse_name(&t.name()), Some(t));
        }
    }

    #[test]
    fn mysql_types_follow_the_documented_table() {
        assert_eq!(FeatureType::String.mysql_type(true), "VARCHAR(100)");
        assert_eq!(FeatureType::String.mysql_type(false), "LONGTEXT");
        assert_eq!(FeatureType::Timestamp.mysql_type(false), "DATETIME(6)");
        assert_eq!(FeatureType::Boolean.mysql_type(false), "BIT(1)");
        let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
        assert_eq!(
            FeatureType::from_arrow("t", &ts).unwrap(),
            FeatureType::Timestamp
        );
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        assert_eq!(
            FeatureType::from_arrow("l", &list).unwrap(),
            FeatureType::Json
        );
    }

    #[test]
    fn unsupported_types_name_the_column() {
        let e = FeatureType::from_arrow("big", &DataType::UInt64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`big`") && e.contains("UInt64"), "{e}");
    }

    #[test]
    fn docs_table_matches_code() {
        let doc = include_str!("../../../docs/type-mapping.md");
        for t in [
            FeatureType::SmallInt,
            FeatureType::Int,
            FeatureType::BigInt,
            FeatureType::Float,
            FeatureType::Double,
            FeatureType::Boolean,
            FeatureType::Binary,
            FeatureType::Date,
            FeatureType::Timestamp,
            FeatureType::Json,
        ] {
            let row = format!(
                "| {} | `{}` | `{}` |",
                t.name(),
                t.mysql_type(false),
                t.sqlite_type()
            );
            assert!(
                doc.contains(&row),
                "docs/type-mapping.md lacks the row {row}"
            );
        }
    }
}
