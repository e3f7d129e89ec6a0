//! What changed in a feature table between two versions, read from the Delta log: the rows to
//! upsert and the keys to delete so that a copy of the table's published view at the old version
//! becomes the view at the new one (what an incremental publish applies).
//!
//! The published view of a version is `latest_per_key(filter(snapshot))` on the published
//! columns. Changes come from delta-rs' change-data-feed reader, which uses the change data files
//! (`_change_data/`) of commits that wrote them (tables with `delta.enableChangeDataFeed`) and
//! otherwise the commit's added files (as inserts) and removed files (as deletes), both with
//! `dataChange`. Every change row is filtered with the publish filter, then netted per row key
//! (primary keys plus the timestamp key) in commit order, deletes before inserts within a commit:
//! a key's state before the range is its first event's pre-image (or absent when that event is
//! an insert), its state after is its last event's post-image (or absent). Rows whose state did
//! not change are dropped, so a file rewritten by a copy-on-write merge costs reading, not
//! writing. Keys present before and absent after are deletes.
//!
//! Time-series tables publish the latest row per primary key: a primary key whose changed rows
//! are all additions keeps the latest of them (the online store's never-regress rule keeps a
//! newer online row); a primary key that lost a row is looked up again in the new snapshot and
//! replaced by its latest remaining row (or deleted when none is left).
//!
//! The range is not covered — and the caller publishes the whole view instead — when a commit
//! file is gone (log cleanup after a checkpoint), a commit changes the published columns' types,
//! the partitioning or the table id, a commit uses deletion vectors or column mapping, a data
//! file the range needs was vacuumed, or the change data feed was switched off inside the range.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deltalake::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, make_comparator};
use deltalake::arrow::buffer::BooleanBuffer;
use deltalake::arrow::compute::kernels::cmp::distinct;
use deltalake::arrow::compute::{SortOptions, cast, interleave};
use deltalake::arrow::datatypes::{DataType, Schema, SchemaRef};
use deltalake::arrow::row::{RowConverter, Rows, SortField};
use deltalake::datafusion::prelude::{Expr, SessionContext, ident};
use deltalake::delta_datafusion::DeltaCdfTableProvider;
use deltalake::delta_datafusion::create_session;
use deltalake::kernel::{Action, Version};
use deltalake::logstore::{LogStore, get_actions};

use crate::error::{Error, Result};
use crate::table::{FeatureTable, df_error, to_schema};

/// Column of the change feed holding `insert`, `delete`, `update_preimage`, `update_postimage`.
const CHANGE_TYPE: &str = "_change_type";
/// Column of the change feed holding the commit version.
const COMMIT_VERSION: &str = "_commit_version";
/// The table property that makes writers record change data files.
pub const CDF_PROPERTY: &str = "delta.enableChangeDataFeed";
/// Rows per output batch.
const BATCH_ROWS: usize = 65_536;

/// Whether the log covers a range of versions.
#[derive(Clone, Debug, PartialEq)]
pub enum Coverage<T> {
    Covered(T),
    /// The range cannot be read incrementally; the reason, for the user.
    NotCovered(String),
}

impl<T> Coverage<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Coverage<U> {
        match self {
            Coverage::Covered(t) => Coverage::Covered(f(t)),
            Coverage::NotCovered(why) => Coverage::NotCovered(why),
        }
    }
}

/// One commit of a range, from its log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    pub version: i64,
    /// The writer's commit time, when recorded.
    pub timestamp: Option<DateTime<Utc>>,
    /// Bytes of data files an incremental read of this commit reads (change data files, or the
    /// added and removed data files).
    pub bytes: u64,
    /// Does the commit change rows (files added or removed with `dataChange`, or change data)?
    pub data_change: bool,
}

/// The net change of the published view between two versions.
#[derive(Clone, Debug)]
pub struct TableChanges {
    pub from_version: i64,
    pub to_version: i64,
    /// Rows to upsert, on the requested columns. A primary key also in `deletes` is to be
    /// replaced (deleted first) whatever its timestamp.
    pub upserts: Vec<RecordBatch>,
    /// Primary keys (the spec's primary-key columns, timestamp key excluded) to delete first.
    pub deletes: Vec<RecordBatch>,
    /// Change rows read from the log (before netting).
    pub change_rows: u64,
    /// Did any commit of the range provide change data files?
    pub used_change_data: bool,
}

impl TableChanges {
    pub fn upsert_rows(&self) -> u64 {
        self.upserts.iter().map(|b| b.num_rows() as u64).sum()
    }

    pub fn delete_rows(&self) -> u64 {
        self.deletes.iter().map(|b| b.num_rows() as u64).sum()
    }
}

impl FeatureTable {
    /// The commits after `from` up to this handle's version, or why the log does not cover them
    /// for the published `columns` (see the module docs).
    pub async fn commits_since(
        &self,
        from: i64,
        columns: &[String],
    ) -> Result<Coverage<Vec<CommitSummary>>> {
        Ok(self.read_range(from, columns).await?.map(|r| r.commits))
    }

    /// The net change of the published view (`columns`, `filter`, latest per key) from version
    /// `from` to this handle's version, or why it cannot be read from the log.
    pub async fn changes_since(
        &self,
        from: i64,
        columns: &[String],
        filter: Option<&str>,
    ) -> Result<Coverage<TableChanges>> {
        let range = match self.read_range(from, columns).await? {
            Coverage::Covered(r) => r,
            Coverage::NotCovered(why) => return Ok(Coverage::NotCovered(why)),
        };
        let mut out = TableChanges {
            from_version: from,
            to_version: self.version,
            upserts: Vec::new(),
            deletes: Vec::new(),
            change_rows: 0,
            used_change_data: range.change_data,
        };
        let Some(start) = range.first_data_version else {
            return Ok(Coverage::Covered(out));
        };
        let batches = match self.read_change_rows(start, columns, filter).await {
            Ok(b) => b,
            Err(e) => {
                return Ok(Coverage::NotCovered(format!(
                    "the changes since version {from} cannot be read ({e}); their data files may have been vacuumed"
                )));
            }
        };
        out.change_rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let netted = net(&batches, columns, &self.spec.row_keys())?;
        self.finish(&mut out, netted, columns, filter).await?;
        Ok(Coverage::Covered(out))
    }

    /// Reads the log entries of `(from, self.version]` and checks that they can be read
    /// incrementally.
    async fn read_range(&self, from: i64, columns: &[String]) -> Result<Coverage<Range>> {
        let to = self.version;
        if from > to {
            return Ok(Coverage::NotCovered(format!(
                "version {from} is newer than the table's latest version {to}"
            )));
        }
        let snapshot = self
            .delta
            .snapshot()
            .map_err(Error::delta("reading table metadata"))?;
        let metadata = snapshot.metadata();
        let table_id = metadata.id().to_string();
        let partitions = metadata.partition_columns().to_vec();
        let schema = metadata
            .parse_schema()
            .map_err(|e| Error::Internal(format!("reading the table schema: {e}")))?;
        let log_store = self.delta.log_store();
        let mut range = Range {
            commits: Vec::new(),
            first_data_version: None,
            change_data: false,
        };
        for v in (from + 1)..=to {
            let version = v as Version;
            let Some(bytes) = log_store
                .read_commit_entry(version)
                .await
                .map_err(Error::delta(format!("reading commit {v}")))?
            else {
                return Ok(Coverage::NotCovered(format!(
                    "the Delta log no longer has commit {v} (cleaned up after a checkpoint)"
                )));
            };
            let actions = get_actions(version, &bytes)
                .map_err(Error::delta(format!("parsing commit {v}")))?;
            let mut summary = CommitSummary {
                version: v,
                timestamp: None,
                bytes: 0,
                data_change: false,
            };
            let (mut cdc_bytes, mut file_bytes, mut has_metadata) = (0u64, 0u64, false);
            let mut cdf_here = None;
            for action in &actions {
                match action {
                    Action::CommitInfo(ci) => {
                        summary.timestamp = ci
                            .in_commit_timestamp
                            .or(ci.timestamp)
                            .and_then(DateTime::<Utc>::from_timestamp_millis);
                    }
                    Action::Metadata(md) => {
                        has_metadata = true;
                        cdf_here = md
                            .configuration()
                            .get(CDF_PROPERTY)
                            .map(|v| v.to_ascii_lowercase());
                        if md.id() != table_id {
                            return Ok(Coverage::NotCovered(format!(
                                "commit {v} replaced the table (new table id)"
                            )));
                        }
                        if md.partition_columns() != partitions.as_slice() {
                            return Ok(Coverage::NotCovered(format!(
                                "commit {v} changed the partition columns"
                            )));
                        }
                        let old = md.parse_schema().map_err(|e| {
                            Error::Internal(format!("reading commit {v}'s schema: {e}"))
                        })?;
                        for c in columns {
                            let same = match (old.field(c), schema.field(c)) {
                                (Some(a), Some(b)) => a.data_type() == b.data_type(),
                                _ => false,
                            };
                            if !same {
                                return Ok(Coverage::NotCovered(format!(
                                    "commit {v} changed the schema of column `{c}`"
                                )));
                            }
                        }
                    }
                    Action::Add(a) if a.data_change => {
                        if a.deletion_vector.is_some() {
                            return Ok(Coverage::NotCovered(format!(
                                "commit {v} uses deletion vectors"
                            )));
                        }
                        file_bytes += u64::try_from(a.size).unwrap_or(0);
                        summary.data_change = true;
                    }
                    Action::Remove(r) if r.data_change => {
                        if r.deletion_vector.is_some() {
                            return Ok(Coverage::NotCovered(format!(
                                "commit {v} uses deletion vectors"
                            )));
                        }
                        file_bytes += r.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                        summary.data_change = true;
                    }
                    Action::Cdc(c) => {
                        cdc_bytes += u64::try_from(c.size).unwrap_or(0);
                        summary.data_change = true;
                    }
                    _ => {}
                }
            }
            if cdc_bytes > 0 {
                range.change_data = true;
                summary.bytes = cdc_bytes;
            } else {
                summary.bytes = file_bytes;
            }
            if summary.data_change && range.first_data_version.is_none() {
                // delta-rs' change feed refuses to start at a commit whose metadata lacks the
                // feed's property; later metadata commits are fine unless they switch it off.
                if has_metadata && cdf_here.as_deref() != Some("true") {
                    return Ok(Coverage::NotCovered(format!(
                        "commit {v} changes the table's metadata and its rows at once"
                    )));
                }
                range.first_data_version = Some(v);
            } else if range.first_data_version.is_some() && cdf_here.as_deref() == Some("false") {
                return Ok(Coverage::NotCovered(format!(
                    "commit {v} switched the change data feed off"
                )));
            }
            range.commits.push(summary);
        }
        Ok(Coverage::Covered(range))
    }

    /// Change rows of `[start, self.version]`: the requested columns, then the change type and
    /// commit version, filtered.
    async fn read_change_rows(
        &self,
        start: i64,
        columns: &[String],
        filter: Option<&str>,
    ) -> Result<Vec<RecordBatch>> {
        let ctx: SessionContext = create_session().into_inner();
        self.delta
            .update_datafusion_session(&ctx.state())
            .map_err(Error::delta(format!("preparing to read `{}`", self.name)))?;
        let builder = self
            .delta
            .clone()
            .scan_cdf()
            .with_starting_version(start as Version)
            .with_ending_version(self.version as Version);
        let provider = DeltaCdfTableProvider::try_new(builder).map_err(Error::delta(format!(
            "reading the changes of `{}`",
            self.name
        )))?;
        let mut df = ctx
            .read_table(Arc::new(provider))
            .map_err(df_error(format!("reading the changes of `{}`", self.name)))?;
        if let Some(filter) = filter {
            df = self.apply_filter(&ctx, df, filter)?;
        }
        let mut select: Vec<Expr> = columns.iter().map(ident).collect();
        select.push(ident(CHANGE_TYPE));
        select.push(ident(COMMIT_VERSION));
        let batches = df
            .select(select)
            .map_err(df_error("planning the change read"))?
            .collect()
            .await
            .map_err(df_error(format!("reading the changes of `{}`", self.name)))?;
        let mut fields = Vec::with_capacity(columns.len() + 2);
        for c in columns {
            fields.push(
                self.schema
                    .field_with_name(c)
                    .map_err(Error::arrow(format!("column `{c}`")))?
                    .clone(),
            );
        }
        fields.push(deltalake::arrow::datatypes::Field::new(
            CHANGE_TYPE,
            DataType::Utf8,
            true,
        ));
        fields.push(deltalake::arrow::datatypes::Field::new(
            COMMIT_VERSION,
            DataType::Int64,
            true,
        ));
        let expected: SchemaRef = Arc::new(Schema::new(fields));
        batches.iter().map(|b| to_schema(b, &expected)).collect()
    }

    /// Turns netted rows into upserts and deletes (time-series tables: latest per primary key,
    /// keys that lost a row looked up again).
    async fn finish(
        &self,
        out: &mut TableChanges,
        netted: Netted<'_>,
        columns: &[String],
        filter: Option<&str>,
    ) -> Result<()> {
        let pk_idx: Vec<usize> = self
            .spec
            .primary_keys
            .iter()
            .map(|k| index_of(columns, k))
            .collect::<Result<_>>()?;
        let Some(ts) = &self.spec.timestamp_key else {
            out.upserts = gather(netted.batches, &netted.present, None)?;
            out.deletes = gather(netted.batches, &netted.removed, Some(&pk_idx))?;
            return Ok(());
        };
        let ts_idx = index_of(columns, ts)?;
        let pk_conv = converter(netted.batches, &pk_idx)?;
        let pk_rows: Vec<Rows> = netted
            .batches
            .iter()
            .map(|b| convert(&pk_conv, b, &pk_idx))
            .collect::<Result<_>>()?;
        let ts_conv = converter(netted.batches, &[ts_idx])?;
        let ts_rows: Vec<Rows> = netted
            .batches
            .iter()
            .map(|b| convert(&ts_conv, b, &[ts_idx]))
            .collect::<Result<_>>()?;
        // Primary keys that lost a row: replaced by what the snapshot still has.
        let mut lost: HashMap<_, (u32, u32)> = HashMap::new();
        for &(b, r) in &netted.removed {
            lost.entry(pk_rows[b as usize].row(r as usize))
                .or_insert((b, r));
        }
        // The latest added row of every other primary key (NULL timestamps sort first).
        let mut latest: HashMap<_, (u32, u32)> = HashMap::new();
        for &(b, r) in &netted.present {
            let pk = pk_rows[b as usize].row(r as usize);
            if lost.contains_key(&pk) {
                continue;
            }
            match latest.entry(pk) {
                Entry::Vacant(e) => {
                    e.insert((b, r));
                }
                Entry::Occupied(mut e) => {
                    let (ob, or) = *e.get();
                    if ts_rows[b as usize].row(r as usize) > ts_rows[ob as usize].row(or as usize) {
                        e.insert((b, r));
                    }
                }
            }
        }
        let mut keep: Vec<(u32, u32)> = latest.into_values().collect();
        keep.sort_unstable();
        out.upserts = gather(netted.batches, &keep, None)?;
        let mut lost: Vec<(u32, u32)> = lost.into_values().collect();
        lost.sort_unstable();
        out.deletes = gather(netted.batches, &lost, Some(&pk_idx))?;
        for keys in &out.deletes {
            let again = self
                .scan_latest_for_keys(Some(columns), filter, keys)
                .await?;
            out.upserts
                .extend(again.into_iter().filter(|b| b.num_rows() > 0));
        }
        Ok(())
    }
}

/// What [`FeatureTable::read_range`] found.
struct Range {
    commits: Vec<CommitSummary>,
    /// The first commit that changes rows.
    first_data_version: Option<i64>,
    change_data: bool,
}

fn index_of(columns: &[String], name: &str) -> Result<usize> {
    columns.iter().position(|c| c == name).ok_or_else(|| {
        Error::Internal(format!("key column `{name}` is not among the read columns"))
    })
}

/// A row's position `(batch, row)` among change batches.
type Position = (u32, u32);

/// The netted change: row positions `(batch, row)` into `batches`.
struct Netted<'a> {
    batches: &'a [RecordBatch],
    /// Rows present after the range whose state changed (or that are new).
    present: Vec<(u32, u32)>,
    /// Rows present before the range and absent after (their last pre-image).
    removed: Vec<(u32, u32)>,
}

fn converter(batches: &[RecordBatch], idx: &[usize]) -> Result<RowConverter> {
    let fields = match batches.first() {
        Some(b) => idx
            .iter()
            .map(|&i| SortField::new(b.column(i).data_type().clone()))
            .collect(),
        None => Vec::new(),
    };
    RowConverter::new(fields).map_err(Error::arrow("comparing changed rows"))
}

fn convert(conv: &RowConverter, batch: &RecordBatch, idx: &[usize]) -> Result<Rows> {
    let cols: Vec<ArrayRef> = idx.iter().map(|&i| batch.column(i).clone()).collect();
    conv.convert_columns(&cols)
        .map_err(Error::arrow("comparing changed rows"))
}

/// Nets change rows (the requested columns, then change type and commit version) per row key.
fn net<'a>(
    batches: &'a [RecordBatch],
    columns: &[String],
    row_keys: &[String],
) -> Result<Netted<'a>> {
    let mut netted = Netted {
        batches,
        present: Vec::new(),
        removed: Vec::new(),
    };
    if batches.is_empty() {
        return Ok(netted);
    }
    let n = columns.len();
    let key_idx: Vec<usize> = row_keys
        .iter()
        .map(|k| index_of(columns, k))
        .collect::<Result<_>>()?;
    let key_conv = converter(batches, &key_idx)?;
    let mut key_rows = Vec::with_capacity(batches.len());
    // Events grouped by (commit version, 0 = pre-image / 1 = post-image), each group in batch
    // and row order: the order the netting needs, without sorting every event.
    let mut groups: BTreeMap<(i64, u8), Vec<(u32, u32)>> = BTreeMap::new();
    let mut events = 0usize;
    for (bi, b) in batches.iter().enumerate() {
        key_rows.push(convert(&key_conv, b, &key_idx)?);
        let kinds = b.column(n).as_string::<i32>();
        let versions = b
            .column(n + 1)
            .as_primitive::<deltalake::arrow::datatypes::Int64Type>();
        for r in 0..b.num_rows() {
            let rank = match kinds.is_valid(r).then(|| kinds.value(r)) {
                Some("insert" | "update_postimage") => 1,
                Some("delete" | "update_preimage") => 0,
                other => {
                    return Err(Error::Internal(format!(
                        "unknown change type {other:?} in the change data feed"
                    )));
                }
            };
            let version = if versions.is_valid(r) {
                versions.value(r)
            } else {
                0
            };
            groups
                .entry((version, rank))
                .or_default()
                .push((bi as u32, r as u32));
            events += 1;
        }
    }
    struct State {
        /// The pre-image of the first event, if it was one (present before the range).
        before: Option<(u32, u32)>,
        /// The post-image of the last event, if it was one (present after the range).
        after: Option<(u32, u32)>,
    }
    let mut states: HashMap<_, State> = HashMap::with_capacity(events);
    for (&(_, rank), rows) in &groups {
        for &(b, r) in rows {
            let key = key_rows[b as usize].row(r as usize);
            let post = (rank == 1).then_some((b, r));
            match states.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(State {
                        before: (rank == 0).then_some((b, r)),
                        after: post,
                    });
                }
                Entry::Occupied(mut e) => e.get_mut().after = post,
            }
        }
    }
    drop(groups);
    // Keys present before and after: kept only when a value column changed.
    let mut pairs = Vec::new();
    for s in states.into_values() {
        match (s.before, s.after) {
            (Some(before), Some(after)) => pairs.push((before, after)),
            (None, Some(after)) => netted.present.push(after),
            (Some(before), None) => netted.removed.push(before),
            (None, None) => {}
        }
    }
    let value_idx: Vec<usize> = (0..n).filter(|i| !key_idx.contains(i)).collect();
    let changed = differing(batches, &value_idx, &pairs)?;
    netted.present.extend(
        pairs
            .iter()
            .zip(changed)
            .filter(|(_, c)| *c)
            .map(|(p, _)| p.1),
    );
    netted.present.sort_unstable();
    netted.removed.sort_unstable();
    Ok(netted)
}

/// For each `(before, after)` pair of row positions, whether the rows differ in any of the
/// columns `idx`: compared column by column over gathered chunks (nulls equal nulls, floats by
/// IEEE total order, so NaN equals NaN), with vectorized kernels where the type has one.
fn differing(
    batches: &[RecordBatch],
    idx: &[usize],
    pairs: &[(Position, Position)],
) -> Result<Vec<bool>> {
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(BATCH_ROWS) {
        let before: Vec<(usize, usize)> = chunk
            .iter()
            .map(|&((b, r), _)| (b as usize, r as usize))
            .collect();
        let after: Vec<(usize, usize)> = chunk
            .iter()
            .map(|&(_, (b, r))| (b as usize, r as usize))
            .collect();
        let mut diff = BooleanBuffer::new_unset(chunk.len());
        for &c in idx {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            let x = interleave(&arrays, &before).map_err(Error::arrow("comparing changed rows"))?;
            let y = interleave(&arrays, &after).map_err(Error::arrow("comparing changed rows"))?;
            diff = match distinct(&x, &y) {
                Ok(d) => &diff | d.values(),
                // Nested types have no vectorized comparison.
                Err(_) => {
                    let cmp = make_comparator(x.as_ref(), y.as_ref(), SortOptions::default())
                        .map_err(Error::arrow("comparing changed rows"))?;
                    BooleanBuffer::collect_bool(chunk.len(), |i| {
                        diff.value(i) || cmp(i, i) != std::cmp::Ordering::Equal
                    })
                }
            };
        }
        out.extend(diff.iter());
    }
    Ok(out)
}

/// The rows at `positions` (all requested columns, or only `only`), in batches of at most
/// [`BATCH_ROWS`] rows.
fn gather(
    batches: &[RecordBatch],
    positions: &[(u32, u32)],
    only: Option<&[usize]>,
) -> Result<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let n_data = first.num_columns().saturating_sub(2);
    let idx: Vec<usize> = match only {
        Some(i) => i.to_vec(),
        None => (0..n_data).collect(),
    };
    let schema = Arc::new(
        first
            .schema()
            .project(&idx)
            .map_err(Error::arrow("selecting changed columns"))?,
    );
    let mut out = Vec::new();
    for chunk in positions.chunks(BATCH_ROWS) {
        let indices: Vec<(usize, usize)> = chunk
            .iter()
            .map(|&(b, r)| (b as usize, r as usize))
            .collect();
        let mut cols = Vec::with_capacity(idx.len());
        for &i in &idx {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            let col =
                interleave(&arrays, &indices).map_err(Error::arrow("gathering changed rows"))?;
            let want = schema.field(cols.len()).data_type();
            cols.push(if col.data_type() == want {
                col
            } else {
                cast(&col, want).map_err(Error::arrow("gathering changed rows"))?
            });
        }
        out.push(
            RecordBatch::try_new(schema.clone(), cols)
                .map_err(Error::arrow("assembling changed rows"))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use deltalake::arrow::array::{Int64Array, StringArray};
    use deltalake::arrow::datatypes::Field;

    use super::*;

    /// Change rows `(id, v, change type, version)`.
    fn feed(rows: &[(i64, i64, &str, i64)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
            Field::new(CHANGE_TYPE, DataType::Utf8, true),
            Field::new(COMMIT_VERSION, DataType::Int64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.3))),
            ],
        )
        .unwrap()
    }

    fn ids(batches: &[RecordBatch], at: &[(u32, u32)]) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = at
            .iter()
            .map(|&(b, r)| {
                let b = &batches[b as usize];
                let col = |i: usize| {
                    b.column(i)
                        .as_primitive::<deltalake::arrow::datatypes::Int64Type>()
                        .value(r as usize)
                };
                (col(0), col(1))
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn netting_keeps_the_first_pre_image_and_the_last_post_image() {
        let cols = ["id".to_string(), "v".to_string()];
        // Out of order on purpose: the netting sorts by version, pre-images first.
        let batches = [
            feed(&[
                (1, 11, "insert", 2), // 1: rewritten in v1 unchanged, updated in v2
                (1, 10, "delete", 1),
                (1, 10, "insert", 1),
                (1, 10, "update_preimage", 2),
                (2, 20, "delete", 1), // 2: rewritten unchanged: dropped
                (2, 20, "insert", 1),
                (3, 30, "delete", 2), // 3: deleted
            ]),
            feed(&[
                (4, 40, "insert", 1), // 4: new, then deleted: nothing
                (4, 40, "delete", 3),
                (5, 50, "insert", 3),          // 5: new
                (6, 60, "update_preimage", 3), // 6: updated to the same value: dropped
                (6, 60, "update_postimage", 3),
            ]),
        ];
        let n = net(&batches, &cols, &["id".to_string()]).unwrap();
        assert_eq!(ids(&batches, &n.present), [(1, 11), (5, 50)]);
        assert_eq!(ids(&batches, &n.removed), [(3, 30)]);
        let up = gather(&batches, &n.present, None).unwrap();
        assert_eq!(up[0].num_columns(), 2);
        assert_eq!(up[0].num_rows(), 2);
        let keys = gather(&batches, &n.removed, Some(&[0])).unwrap();
        assert_eq!(keys[0].schema().field(0).name(), "id");
    }

    #[test]
    fn differing_compares_nulls_nans_and_nested_values() {
        use deltalake::arrow::array::{Float64Array, ListArray};
        use deltalake::arrow::datatypes::Int32Type;
        let list = |v: Vec<Option<Vec<Option<i32>>>>| {
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(v)) as ArrayRef
        };
        let batch = |f: Vec<Option<f64>>, l: ArrayRef| {
            RecordBatch::try_from_iter(vec![
                ("f", Arc::new(Float64Array::from(f)) as ArrayRef),
                ("l", l),
            ])
            .unwrap()
        };
        // Rows 0..5, before (batch 0) and after (batch 1): same, NaN = NaN, null = null, f
        // changed, list changed, list null → value.
        let floats = |x: f64| {
            vec![
                Some(1.0),
                Some(f64::NAN),
                None,
                Some(x),
                Some(3.0),
                Some(4.0),
            ]
        };
        let lists = |second: i32, last: Option<Vec<Option<i32>>>| {
            list(vec![
                Some(vec![Some(1)]),
                Some(vec![]),
                None,
                Some(vec![Some(1)]),
                Some(vec![Some(1), Some(second)]),
                last,
            ])
        };
        let before = batch(floats(2.0), lists(2, None));
        let after = batch(floats(2.5), lists(3, Some(vec![None])));
        let batches = [before, after];
        let pairs: Vec<_> = (0..6u32).map(|r| ((0, r), (1, r))).collect();
        assert_eq!(
            differing(&batches, &[0, 1], &pairs).unwrap(),
            [false, false, false, true, true, true]
        );
        assert_eq!(
            differing(&batches, &[1], &pairs).unwrap(),
            [false, false, false, false, true, true]
        );
    }

    #[test]
    fn unknown_change_types_are_an_error() {
        let cols = ["id".to_string(), "v".to_string()];
        let batches = [feed(&[(1, 1, "merge", 1)])];
        assert!(net(&batches, &cols, &["id".to_string()]).is_err());
    }
}
