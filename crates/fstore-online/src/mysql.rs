//! Placeholder for the MySQL / MariaDB / Aurora backend (being written separately): every
//! operation fails with a clear error until it lands.

use arrow::record_batch::RecordBatch;
use fstore_core::{Progress, Value};

use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::OnlineLayout;
use crate::{Backend, LookupResult, PublishRecord, PublishedTable, WriteMode, WriteReport};

/// The MySQL online store (not built yet).
pub struct MysqlStore;

fn not_built<T>() -> Result<T> {
    Err(StoreError::new(
        StoreErrorKind::Database,
        "the MySQL backend is not built yet",
    ))
}

impl Backend for MysqlStore {
    async fn write(
        &self,
        _layout: &OnlineLayout,
        _mode: WriteMode,
        _batches: Vec<RecordBatch>,
        _record: &PublishRecord,
        _progress: &dyn Progress,
    ) -> Result<WriteReport> {
        not_built()
    }

    async fn lookup(
        &self,
        _table: &str,
        _keys: &[Vec<Value>],
        _features: Option<&[String]>,
    ) -> Result<LookupResult> {
        not_built()
    }

    async fn describe(&self, _table: &str) -> Result<Option<PublishedTable>> {
        not_built()
    }

    async fn list(&self) -> Result<Vec<PublishedTable>> {
        not_built()
    }

    async fn drop_table(&self, _table: &str) -> Result<()> {
        not_built()
    }

    async fn health(&self) -> Result<()> {
        not_built()
    }
}
