//! Identifier rules: feature-table names (`<schema>.<table>`), column names, and quoting for SQL.
//!
//! Names are validated once here, so every SQL builder downstream can quote without re-checking.
//! Schema and table names also become directory names and online table names, hence the tight
//! alphabet; column names come from user data, so they may hold anything MySQL allows, and are
//! always quoted.

use std::fmt;

use crate::error::{Error, Result};

/// MySQL's limit for table and column names, which is also the strictest of our backends.
pub const MAX_IDENTIFIER_LEN: usize = 64;

/// A validated feature-table name, `<schema>.<table>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    schema: String,
    table: String,
}

impl TableName {
    /// Parses and validates `<schema>.<table>`.
    pub fn parse(name: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidTableName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let (schema, table) = name
            .split_once('.')
            .ok_or_else(|| bad("missing the schema part"))?;
        if table.contains('.') {
            return Err(bad("more than one `.`"));
        }
        check_simple_name(schema).map_err(|r| bad(&format!("schema {r}")))?;
        check_simple_name(table).map_err(|r| bad(&format!("table {r}")))?;
        Ok(Self {
            schema: schema.to_string(),
            table: table.to_string(),
        })
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

impl std::str::FromStr for TableName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Checks a schema, table or online-table name: ASCII letters, digits and `_`, not starting with a
/// digit, at most 64 characters. Returns the reason on failure.
fn check_simple_name(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.len() > MAX_IDENTIFIER_LEN {
        return Err(format!("is longer than {MAX_IDENTIFIER_LEN} characters"));
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("starts with a digit".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(format!(
            "contains `{c}` (only letters, digits and `_` are allowed)"
        ));
    }
    Ok(())
}

/// Validates an online table name (the part after the schema, or `--online-table`).
pub fn validate_online_table_name(name: &str) -> Result<()> {
    check_simple_name(name).map_err(|reason| Error::InvalidIdentifier {
        what: "online table name",
        name: name.to_string(),
        reason,
    })
}

/// Validates a database name for MySQL (`online init`, store configuration).
pub fn validate_database_name(name: &str) -> Result<()> {
    check_simple_name(name).map_err(|reason| Error::InvalidIdentifier {
        what: "database name",
        name: name.to_string(),
        reason,
    })
}

/// Validates a column name: non-empty, at most 64 characters, no control characters, no trailing
/// space (MySQL rejects those). Anything else is allowed because it is always quoted.
pub fn validate_column_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidIdentifier {
        what: "column name",
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if name.chars().count() > MAX_IDENTIFIER_LEN {
        return Err(bad("is longer than 64 characters"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad("contains a control character"));
    }
    if name.ends_with(' ') {
        return Err(bad("ends with a space"));
    }
    Ok(())
}

/// Quotes an identifier for MySQL/MariaDB: backticks, embedded backticks doubled.
pub fn quote_mysql(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes an identifier for SQLite (and standard SQL): double quotes, embedded quotes doubled.
pub fn quote_sqlite(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schema_and_table() {
        let n = TableName::parse("default.online_feature_table").unwrap();
        assert_eq!(n.schema(), "default");
        assert_eq!(n.table(), "online_feature_table");
        assert_eq!(n.to_string(), "default.online_feature_table");
    }

    #[test]
    fn rejects_bad_table_names() {
        for (name, needle) in [
            ("noschema", "missing the schema"),
            ("a.b.c", "more than one"),
            (".t", "schema is empty"),
            ("s.", "table is empty"),
            ("s.t-x", "contains `-`"),
            ("s.1t", "starts with a digit"),
            ("x/y.passwd", "contains `/`"),
        ] {
            let err = TableName::parse(name).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn quotes_escape_embedded_quotes() {
        assert_eq!(quote_mysql("a`b"), "`a``b`");
        assert_eq!(quote_sqlite("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn column_names_reject_control_chars_and_length() {
        assert!(validate_column_name("Age").is_ok());
        assert!(validate_column_name("with space").is_ok());
        assert!(validate_column_name("a\0b").is_err());
        assert!(validate_column_name("trailing ").is_err());
        assert!(validate_column_name(&"x".repeat(65)).is_err());
    }
}
