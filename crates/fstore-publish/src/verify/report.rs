//! What `verify` reports: counts and examples, plain `Serialize` structs for the CLI's text
//! and JSON output.

use serde::Serialize;

/// What kind of difference a key shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// In the offline view, not online.
    Missing,
    /// Online, not in the offline view.
    Extra,
    /// On both sides, with some column different.
    Different,
}

impl DiffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Missing => "missing",
            DiffKind::Extra => "extra",
            DiffKind::Different => "different",
        }
    }
}

/// One key column's value in an example.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyPart {
    pub column: String,
    pub value: String,
}

/// One column that differs, with both values (rendered, long ones cut).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnDiff {
    pub column: String,
    pub offline: String,
    pub online: String,
}

/// One example difference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    pub kind: DiffKind,
    /// The primary key, in key order.
    pub key: Vec<KeyPart>,
    /// The columns that differ (only for [`DiffKind::Different`]).
    pub columns: Vec<ColumnDiff>,
}

/// What a verify found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    pub online_table: String,
    pub feature_table: String,
    /// The Delta version the bookkeeping row records, which the online table was compared with.
    pub delta_version: i64,
    /// The filter of that publish.
    pub filter: Option<String>,
    /// The compared columns (the online layout's), keys included.
    pub columns: Vec<String>,
    /// Rows in the offline view.
    pub offline_rows: u64,
    /// Rows in the online table.
    pub online_rows: u64,
    /// Keys in the view but not online.
    pub missing: u64,
    /// Keys online but not in the view.
    pub extra: u64,
    /// Keys on both sides whose values differ in some column.
    pub different: u64,
    /// The first differences found, in key order (at most [`VerifyOptions::examples`]).
    pub examples: Vec<Difference>,
    pub seconds: f64,
    /// Caveats about what was compared.
    pub notes: Vec<String>,
}

impl VerifyReport {
    /// No key missing, extra or different.
    pub fn is_clean(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.different == 0
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let what = if self.is_clean() {
            "identical".to_string()
        } else {
            format!(
                "{} missing, {} extra, {} different",
                self.missing, self.extra, self.different
            )
        };
        format!(
            "{}: {what} (version {} of {}: {} rows offline, {} online; {:.1}s)",
            self.online_table,
            self.delta_version,
            self.feature_table,
            self.offline_rows,
            self.online_rows,
            self.seconds
        )
    }
}
