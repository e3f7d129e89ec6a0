//! Publish history: one row per publish attempt in the bookkeeping table
//! [`HISTORY_TABLE`], written by [`crate::OnlineWriter::record_publish`] after the publish ended
//! (successfully or not) and read by [`crate::OnlineReader::history`].
//!
//! The history is an audit trail, not part of the publish's atomicity: its row is a separate
//! small write after the data (and the `_fstore_published` row) committed or failed, so a
//! failure to record never undoes or masks a publish (`fstore_publish` logs it and returns the
//! publish's own result). The backends store the fields below as plain columns (times as
//! milliseconds since the epoch) with an auto-increment `id` giving the order.

/// Name of the publish history table fstore keeps in every online database.
pub const HISTORY_TABLE: &str = "_fstore_publish_history";

/// One publish attempt. Counts are zero for a failed publish (nothing was written).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PublishHistoryEntry {
    /// Assigned by the store on insert; ignored by `record_publish`.
    pub id: i64,
    pub online_table: String,
    /// `<schema>.<table>` of the offline feature table.
    pub feature_table: String,
    /// The Delta version the online table recorded before the publish (None: not published).
    pub version_from: Option<i64>,
    /// The Delta version online after it (None: the publish failed).
    pub version_to: Option<i64>,
    /// `full`, `incremental` or `up to date`; None when the publish failed before choosing.
    pub method: Option<String>,
    /// Why this method (the full publish's reason, the incremental's source of changes).
    pub method_detail: Option<String>,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Approximate bytes of values sent to the database.
    pub bytes: u64,
    pub seconds: f64,
    /// Milliseconds since the epoch.
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    /// None: the publish succeeded; otherwise its error message.
    pub error: Option<String>,
}

impl PublishHistoryEntry {
    /// `ok`, or `error: <message>`.
    pub fn outcome(&self) -> String {
        match &self.error {
            None => "ok".to_string(),
            Some(e) => format!("error: {e}"),
        }
    }
}

/// The most rows [`crate::OnlineReader::history`] returns in one call.
pub const MAX_HISTORY_LIMIT: usize = 100_000;
