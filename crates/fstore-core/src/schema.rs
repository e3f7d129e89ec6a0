//! Schema strings: the one parser behind `fstore tables create --schema` and the Python
//! `create_table(schema="...")`. Two spellings are accepted, entry by entry: the CLI's
//! `name:type` and Spark/Databricks DDL `name TYPE` (so a notebook's `"id BIGINT, name STRING"`
//! works unchanged). Types are fstore's publishable types ([`FeatureType`]), plus the usual Spark
//! aliases; every column is nullable, as in a table created from data.

use arrow_schema::{DataType, Field, Schema, TimeUnit};

use crate::{Error, FeatureType, Result};

const TYPES: &str = "smallint, int, bigint, float, double, decimal(p,s), boolean, string, binary, date or timestamp";

/// Parses `name:type,...` or `name TYPE, ...` into an Arrow schema.
pub fn parse_schema(s: &str) -> Result<Schema> {
    let mut fields: Vec<Field> = Vec::new();
    for part in split_top_level(s) {
        let part = part.trim();
        if part.is_empty() {
            return Err(Error::InvalidSchema(format!(
                "empty column entry in `{}`; write `name:type,...` or `name TYPE, ...`, e.g. `id BIGINT, name STRING`",
                s.trim()
            )));
        }
        let (name, ty) = split_entry(part)?;
        if fields.iter().any(|f| f.name() == name) {
            return Err(Error::InvalidSchema(format!(
                "column `{name}` is declared twice"
            )));
        }
        fields.push(Field::new(name, data_type(name, ty)?, true));
    }
    Ok(Schema::new(fields))
}

/// Splits on commas outside parentheses (`decimal(10,2)` stays whole).
fn split_top_level(s: &str) -> Vec<&str> {
    let mut depth = 0i32;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// One entry → (column name, type text). `name:type` wins when a colon comes before any space;
/// otherwise the first whitespace separates a DDL name (optionally in backticks) from its type.
fn split_entry(part: &str) -> Result<(&str, &str)> {
    if let Some(rest) = part.strip_prefix('`') {
        let (name, ty) = rest
            .split_once('`')
            .ok_or_else(|| Error::InvalidSchema(format!("unclosed backtick in `{part}`")))?;
        let ty = ty.trim_start();
        let ty = ty.strip_prefix(':').unwrap_or(ty);
        return Ok((name, ty.trim()));
    }
    let colon = part.find(':');
    let space = part.find(char::is_whitespace);
    let (name, ty) = match (colon, space) {
        (Some(c), s) if s.is_none_or(|s| c < s) => (&part[..c], &part[c + 1..]),
        (_, Some(s)) => (&part[..s], &part[s..]),
        _ => {
            return Err(Error::InvalidSchema(format!(
                "schema entry `{part}` has no type; write `name:type` or `name TYPE`, e.g. `id BIGINT`"
            )));
        }
    };
    let (name, ty) = (name.trim(), ty.trim());
    if name.is_empty() || ty.is_empty() {
        return Err(Error::InvalidSchema(format!(
            "schema entry `{part}` is not `name:type` or `name TYPE`"
        )));
    }
    Ok((name, ty))
}

fn data_type(column: &str, ty: &str) -> Result<DataType> {
    let lower = ty.to_ascii_lowercase();
    // Spark spellings of the same types (DESCRIBE output, DDL in notebooks).
    let canonical = match lower.as_str() {
        "short" => "smallint".to_string(),
        "integer" => "int".to_string(),
        "long" => "bigint".to_string(),
        "real" => "float".to_string(),
        "bool" => "boolean".to_string(),
        "decimal" | "dec" | "numeric" => "decimal(10,0)".to_string(),
        "timestamp_ltz" => "timestamp".to_string(),
        other => other
            .strip_prefix("dec(")
            .or_else(|| other.strip_prefix("numeric("))
            .map_or_else(|| other.to_string(), |rest| format!("decimal({rest}")),
    };
    let ft = FeatureType::parse_name(&canonical).ok_or_else(|| {
        let hint = if lower.contains(" not null") || lower.contains(" comment") {
            "; constraints and comments are not supported in a schema string"
        } else {
            ""
        };
        Error::InvalidSchema(format!(
            "unknown type `{ty}` for column `{column}`; use {TYPES}{hint}"
        ))
    })?;
    Ok(match ft {
        FeatureType::SmallInt => DataType::Int16,
        FeatureType::Int => DataType::Int32,
        FeatureType::BigInt => DataType::Int64,
        FeatureType::Float => DataType::Float32,
        FeatureType::Double => DataType::Float64,
        FeatureType::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
        FeatureType::Boolean => DataType::Boolean,
        FeatureType::String => DataType::Utf8,
        FeatureType::Binary => DataType::Binary,
        FeatureType::Date => DataType::Date32,
        FeatureType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        FeatureType::Json => {
            return Err(Error::InvalidSchema(format!(
                "column `{column}`: type json cannot be declared; create the table from data with nested columns"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<(String, DataType)> {
        parse_schema(s)
            .unwrap()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect()
    }

    #[test]
    fn cli_and_ddl_spellings_agree() {
        let want = vec![
            ("id".to_string(), DataType::Int64),
            ("price".to_string(), DataType::Decimal128(10, 2)),
            ("name".to_string(), DataType::Utf8),
            (
                "ts".to_string(),
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
        ];
        assert_eq!(
            types("id:bigint,price:decimal(10,2),name:string,ts:timestamp"),
            want
        );
        assert_eq!(
            types("id BIGINT, price DECIMAL(10, 2), name STRING, ts TIMESTAMP"),
            want
        );
        assert_eq!(
            types("`id` LONG, price dec(10,2), name:String, ts timestamp"),
            want
        );
        assert!(parse_schema("a int").unwrap().field(0).is_nullable());
    }

    #[test]
    fn bad_entries_name_the_column_and_the_remedy() {
        let e = parse_schema("id BIGINT, age TINYINT")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`age`") && e.contains("TINYINT") && e.contains("bigint"),
            "{e}"
        );
        let e = parse_schema("id").unwrap_err().to_string();
        assert!(e.contains("`id` has no type"), "{e}");
        let e = parse_schema("id int,").unwrap_err().to_string();
        assert!(e.contains("empty column entry"), "{e}");
        let e = parse_schema("id int, id bigint").unwrap_err().to_string();
        assert!(e.contains("`id` is declared twice"), "{e}");
        let e = parse_schema("id BIGINT NOT NULL").unwrap_err().to_string();
        assert!(e.contains("constraints"), "{e}");
        let e = parse_schema("j json").unwrap_err().to_string();
        assert!(e.contains("json cannot be declared"), "{e}");
    }
}
