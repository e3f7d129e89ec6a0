//! Creating feature tables and writing to them (merge or overwrite). Every input is validated
//! completely (see `conform.rs`) before the first byte reaches storage, so a rejected write
//! leaves the table — or the absence of one — exactly as it was.
//!
//! `create` writes the data files first and then commits them together with the table's schema,
//! spec properties and description as version 0: a table either exists with its data or not at
//! all. `write --mode merge` is a Delta MERGE on (primary keys, timestamp key); new input columns
//! are first added with an ADD COLUMNS commit (delta-rs' merge-time schema evolution replaces the
//! table's metadata wholesale and would drop its description and id).

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::datafusion::common::{Column, TableReference};
use deltalake::datafusion::prelude::{Expr, SessionContext};
use deltalake::delta_datafusion::create_session;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::{Action, StructField, StructType};
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableBuilder};
use fstore_core::{TableName, TableSpec};
use serde::Serialize;

use crate::conform::{self, Plan};
use crate::error::{Error, Result};
use crate::input::InputFile;
use crate::location::display_url;
use crate::source::{Conformed, Source, SourceTable};
use crate::store::{OfflineStore, feature_table, version_of};
use crate::table::FeatureTable;

/// Delta's own limit on table descriptions (enforced by its metadata update).
const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Roll data files at this size when creating a table.
const TARGET_FILE_SIZE: u64 = 100 * 1024 * 1024;

/// How `write` combines the input with the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Update matched rows (only the input's columns), insert the others.
    Merge,
    /// Replace all rows with the input.
    Overwrite,
}

impl std::str::FromStr for WriteMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "merge" => Ok(Self::Merge),
            "overwrite" => Ok(Self::Overwrite),
            other => Err(format!(
                "unknown write mode `{other}` (expected `merge` or `overwrite`)"
            )),
        }
    }
}

/// What a write did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    pub mode: WriteMode,
    /// The table's version after the write (unchanged if there was nothing to do).
    pub version: i64,
    /// Rows in the input.
    pub rows: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    /// Rows the write removed (overwrite: the table's previous rows, when Delta recorded counts).
    pub rows_deleted: Option<u64>,
    pub files_added: u64,
    pub files_removed: u64,
    /// Columns the input added to the table.
    pub new_columns: Vec<String>,
}

impl OfflineStore {
    /// Creates a feature table at `<root>/<schema>/<table>` with `schema`, recording `spec` in the
    /// table's properties and description, and writes `batches` (which must have `schema`) in the
    /// same commit. The change data feed is on unless turned off with
    /// [`OfflineStore::with_change_data_feed`].
    pub async fn create(
        &self,
        name: &TableName,
        spec: TableSpec,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        partition_columns: Vec<String>,
    ) -> Result<FeatureTable> {
        self.create_from(
            name,
            spec,
            Source::Batches(schema, batches),
            partition_columns,
        )
        .await
    }

    /// [`OfflineStore::create`] from a file, streamed: the file is read batch by batch, each
    /// batch validated and written to the new table's data files, and the table is committed
    /// only after the last one (with the duplicate-key verdict). A rejected file leaves no
    /// table; data files already written for it are removed when possible.
    pub async fn create_from_file(
        &self,
        name: &TableName,
        spec: TableSpec,
        file: &InputFile,
        partition_columns: Vec<String>,
    ) -> Result<FeatureTable> {
        self.create_from(name, spec, Source::File(file.clone()), partition_columns)
            .await
    }

    async fn create_from(
        &self,
        name: &TableName,
        spec: TableSpec,
        source: Source,
        partition_columns: Vec<String>,
    ) -> Result<FeatureTable> {
        let tname = name.to_string();
        let schema = source.schema();
        self.progress.set_stage("validating input");
        spec.validate_against(&schema)?;
        check_description(&tname, spec.description.as_deref())?;
        check_partition_columns(&tname, &schema, &partition_columns)?;
        let plan = Arc::new(conform::plan(name, &spec, None, &schema)?);
        source.validate_in_memory(&plan)?;
        if let Some(rows) = source.rows() {
            self.progress.set_total(rows);
        }

        let place = self.place(name).await?;
        if place.linked || self.load_delta(&place.url).await?.is_some() {
            return Err(Error::TableExists {
                name: tname,
                location: display_url(&place.url),
            });
        }
        let url = place.url;
        self.root.check_commit(&url).await?;

        self.progress.set_stage("writing data files");
        let (adds, rows) = self
            .write_files(&url, source, &plan, &partition_columns)
            .await?;

        self.progress.set_stage("committing");
        let kernel_schema: StructType = plan.schema.as_ref().try_into_kernel().map_err(|e| {
            Error::Internal(format!("mapping the schema of `{tname}` to Delta: {e}"))
        })?;
        let table = DeltaTableBuilder::from_url(url.clone())
            .and_then(|b| b.with_storage_options(self.root.options().clone()).build())
            .map_err(Error::delta(format!("preparing {}", display_url(&url))))?;
        let metrics = serde_json::json!({
            "numFiles": adds.len(),
            "numOutputRows": rows,
        });
        let mut configuration: Vec<(String, Option<String>)> = spec
            .to_properties()
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        // On by default: publishing follows a table's changes by reading only the changed rows.
        if self.change_data_feed {
            configuration.push((crate::CDF_PROPERTY.to_string(), Some("true".to_string())));
        }
        let mut builder = table
            .create()
            .with_table_name(tname.clone())
            .with_columns(kernel_schema.fields().cloned())
            .with_partition_columns(partition_columns)
            .with_configuration(configuration)
            .with_raise_if_key_not_exists(false)
            .with_commit_properties(
                CommitProperties::default()
                    .with_metadata([("operationMetrics".to_string(), metrics)]),
            )
            .with_actions(adds.iter().cloned().map(Action::Add));
        if let Some(d) = &spec.description {
            builder = builder.with_comment(d.clone());
        }
        let created = match builder.await {
            Ok(t) => t,
            Err(e) => {
                self.remove_files(&table, &adds).await;
                // Someone else created it between our check and our commit.
                if self.load_delta(&url).await.ok().flatten().is_some() {
                    return Err(Error::TableExists {
                        name: tname,
                        location: display_url(&url),
                    });
                }
                return Err(Error::delta(format!(
                    "creating `{tname}` at {}",
                    display_url(&url)
                ))(e));
            }
        };
        feature_table(name.clone(), spec, created, false)
    }

    /// Streams a validating pass over `source` into Parquet data files under `url`; returns
    /// their Add actions and the row count. On a rejection the files are removed.
    async fn write_files(
        &self,
        url: &url::Url,
        source: Source,
        plan: &Arc<Plan>,
        partition_columns: &[String],
    ) -> Result<(Vec<deltalake::kernel::Add>, u64)> {
        let ctx = || format!("writing data files under {}", display_url(url));
        let mut writer = RecordBatchWriter::try_new(
            url.as_str(),
            plan.schema.clone(),
            Some(partition_columns.to_vec()),
            Some(self.root.options().clone()),
        )
        .map_err(Error::delta(ctx()))?
        .with_target_file_size(TARGET_FILE_SIZE);
        let mut rows = 0u64;
        for b in Conformed::new(source, plan.clone())? {
            let written = match b {
                Ok(b) => {
                    let n = b.num_rows() as u64;
                    writer
                        .write(b)
                        .await
                        .map(|()| n)
                        .map_err(Error::delta(ctx()))
                }
                Err(e) => Err(e),
            };
            match written {
                Ok(n) => {
                    rows += n;
                    self.progress.inc(n);
                }
                Err(e) => {
                    // Open files are aborted; files the writer already finished by size stay
                    // behind unreferenced (no commit names them), for a later vacuum.
                    writer.reset();
                    return Err(e);
                }
            }
        }
        let adds = writer.flush().await.map_err(Error::delta(ctx()))?;
        Ok((adds, rows))
    }

    /// Best-effort cleanup of data files that never got committed.
    async fn remove_files(&self, table: &DeltaTable, adds: &[deltalake::kernel::Add]) {
        let store = table.object_store();
        for add in adds {
            let path = deltalake::Path::from(add.path.as_str());
            if let Err(e) = store.delete(&path).await {
                tracing::warn!(%path, error = %e, "could not remove an uncommitted data file");
            }
        }
    }

    /// Writes `batches` to an existing feature table. All batches must share one schema; it must
    /// contain every key column. See [`WriteMode`].
    pub async fn write(
        &self,
        name: &TableName,
        batches: Vec<RecordBatch>,
        mode: WriteMode,
    ) -> Result<WriteOutcome> {
        let Some(input_schema) = batches.first().map(|b| b.schema()) else {
            let ft = self.open(name).await?;
            return match mode {
                WriteMode::Merge => Ok(outcome(mode, ft.version, 0)),
                WriteMode::Overwrite => Err(Error::InconsistentInput(format!(
                    "no input batches for `{name}`; an overwrite needs the input's schema (give an empty batch to empty the table)"
                ))),
            };
        };
        self.write_from(name, Source::Batches(input_schema, batches), mode)
            .await
    }

    /// [`OfflineStore::write`] from a file, streamed batch by batch (see
    /// [`OfflineStore::create_from_file`]); any rejection comes before the commit.
    pub async fn write_file(
        &self,
        name: &TableName,
        file: &InputFile,
        mode: WriteMode,
    ) -> Result<WriteOutcome> {
        self.write_from(name, Source::File(file.clone()), mode)
            .await
    }

    async fn write_from(
        &self,
        name: &TableName,
        source: Source,
        mode: WriteMode,
    ) -> Result<WriteOutcome> {
        let ft = self.open(name).await?;
        self.progress.set_stage("validating input");
        let plan = Arc::new(conform::plan(
            name,
            &ft.spec,
            Some(&ft.schema),
            &source.schema(),
        )?);
        source.validate_in_memory(&plan)?;
        self.root.check_commit(&ft.location).await?;
        if let Some(rows) = source.rows() {
            self.progress.set_total(rows);
        }
        let result = match mode {
            WriteMode::Merge => self.merge(ft, source, plan).await?,
            WriteMode::Overwrite => self.overwrite(ft, source, plan).await?,
        };
        self.progress.inc(result.rows);
        Ok(result)
    }

    /// Deletes the rows matching `predicate`, one SQL boolean expression over the table's
    /// columns (as for [`FeatureTable::scan`]'s filter), in one commit. Deleting nothing commits
    /// nothing.
    pub async fn delete(&self, name: &TableName, predicate: &str) -> Result<WriteOutcome> {
        let ft = self.open(name).await?;
        let tname = name.to_string();
        // Parse and type-check the predicate the way reads do, for the same clear errors.
        let ctx: SessionContext = create_session().into_inner();
        let provider = ft
            .delta
            .table_provider()
            .await
            .map_err(crate::table::df_error(format!("opening `{tname}`")))?;
        let df = ctx
            .read_table(provider)
            .map_err(crate::table::df_error(format!("opening `{tname}`")))?;
        ft.apply_filter(&ctx, df, predicate)?;
        self.root.check_commit(&ft.location).await?;
        self.progress.set_stage("deleting");
        let (table, metrics) = ft
            .delta
            .clone()
            .delete()
            .with_predicate(predicate.to_string())
            .await
            .map_err(Error::delta(format!("deleting from `{tname}`")))?;
        let mut out = outcome(WriteMode::Merge, version_of(&table)?, 0);
        out.rows_deleted = metrics.num_deleted_rows.map(|n| n as u64);
        out.files_added = metrics.num_added_files as u64;
        out.files_removed = metrics.num_removed_files as u64;
        Ok(out)
    }

    /// Turns on Delta's change data feed (`delta.enableChangeDataFeed = true`) for `name`: later
    /// merges, updates and deletes also write the changed rows to `_change_data/`, which lets an
    /// incremental publish read only those. Returns the new version (the current one when it was
    /// already on).
    pub async fn enable_change_data_feed(&self, name: &TableName) -> Result<i64> {
        let ft = self.open(name).await?;
        if ft.change_data_feed() {
            return Ok(ft.version);
        }
        self.root.check_commit(&ft.location).await?;
        let table = ft
            .delta
            .clone()
            .set_tbl_properties()
            .with_properties(HashMap::from([(
                crate::CDF_PROPERTY.to_string(),
                "true".to_string(),
            )]))
            .await
            .map_err(Error::delta(format!(
                "enabling the change data feed of `{name}`"
            )))?;
        version_of(&table)
    }

    async fn merge(
        &self,
        ft: FeatureTable,
        source: Source,
        prepared: Arc<Plan>,
    ) -> Result<WriteOutcome> {
        let tname = ft.name.to_string();
        let mut table = ft.delta;
        let mut out = outcome(WriteMode::Merge, ft.version, 0);
        out.new_columns = prepared
            .new_columns
            .iter()
            .map(|f| f.name().clone())
            .collect();
        if !prepared.new_columns.is_empty() {
            self.progress.set_stage("adding new columns");
            let fields: Vec<StructField> = prepared
                .new_columns
                .iter()
                .map(|f| f.as_ref().try_into_kernel())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Internal(format!("mapping new columns to Delta: {e}")))?;
            table = table
                .add_columns()
                .with_fields(fields)
                .await
                .map_err(Error::delta(format!(
                    "adding columns {} to `{tname}`",
                    out.new_columns.join(", ")
                )))?;
            out.version = version_of(&table)?;
        }
        if source.is_empty()? {
            return Ok(out);
        }

        self.progress.set_stage("merging");
        let ctx: SessionContext = create_session().into_inner();
        // The source is a validating pass over the input, not a collected copy of it.
        let input = SourceTable::new(source, prepared.clone(), None);
        let source = ctx
            .read_table(Arc::new(input.table()?))
            .map_err(crate::table::df_error("preparing the merge source"))?;
        let keys = ft.spec.row_keys();
        let predicate = keys
            .iter()
            .map(|k| qualified("target", k).eq(qualified("source", k)))
            .reduce(Expr::and)
            .expect("a spec has at least one key");
        let columns: Vec<String> = prepared
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let updates: Vec<&String> = columns.iter().filter(|c| !ft.spec.is_key(c)).collect();
        let merge_err = || Error::delta(format!("merging into `{tname}`"));

        let mut builder = table
            .merge(source, predicate)
            .with_source_alias("source")
            .with_target_alias("target")
            .with_session_state(Arc::new(ctx.state()));
        if !updates.is_empty() {
            builder = builder
                .when_matched_update(|mut u| {
                    for c in &updates {
                        u = u.update(Column::new_unqualified(c.as_str()), qualified("source", c));
                    }
                    u
                })
                .map_err(merge_err())?;
        }
        builder = builder
            .when_not_matched_insert(|mut i| {
                for c in &columns {
                    i = i.set(Column::new_unqualified(c.as_str()), qualified("source", c));
                }
                i
            })
            .map_err(merge_err())?;
        let (table, metrics) = builder.await.map_err(|e| {
            if let Some(rejection) = input.take_failure() {
                return rejection;
            }
            // Delta enforces NOT NULL columns (of tables written by others) while writing.
            if e.to_string().contains("failed validation check")
                && let Some(column) = prepared.required_missing.first()
            {
                return Error::NotNullViolation {
                    table: tname.clone(),
                    column: column.clone(),
                    problem: format!(
                        "the input does not have it, and rows with new keys would leave it NULL; include {} in the input",
                        prepared.required_missing.join(", ")
                    ),
                };
            }
            merge_err()(e)
        })?;
        out.version = version_of(&table)?;
        out.rows = metrics.num_source_rows as u64;
        out.rows_inserted = metrics.num_target_rows_inserted as u64;
        out.rows_updated = metrics.num_target_rows_updated as u64;
        out.rows_deleted = Some(metrics.num_target_rows_deleted as u64);
        out.files_added = metrics.num_target_files_added as u64;
        out.files_removed = metrics.num_target_files_removed as u64;
        Ok(out)
    }

    async fn overwrite(
        &self,
        ft: FeatureTable,
        source: Source,
        prepared: Arc<Plan>,
    ) -> Result<WriteOutcome> {
        let tname = ft.name.to_string();
        if let Some(column) = prepared.required_missing.first() {
            return Err(Error::NotNullViolation {
                table: tname,
                column: column.clone(),
                problem:
                    "the input does not have it; an overwrite must provide every NOT NULL column"
                        .into(),
            });
        }
        let mut out = outcome(WriteMode::Overwrite, ft.version, 0);
        out.new_columns = prepared
            .new_columns
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let previous_rows = row_count(&ft.delta);

        // The full table layout: existing columns (NULL where the input lacks them), then new ones.
        let mut fields: Vec<_> = ft.schema.fields().iter().cloned().collect();
        fields.extend(prepared.new_columns.iter().cloned());
        let full = Arc::new(Schema::new(fields));

        self.progress.set_stage("writing");
        // delta-rs writes the input plan's stream into data files and commits after its end;
        // a rejection ends the stream with an error, so nothing is committed.
        let ctx: SessionContext = create_session().into_inner();
        let input = SourceTable::new(source, prepared.clone(), Some(full));
        let plan = ctx
            .read_table(Arc::new(input.table()?))
            .map_err(crate::table::df_error("preparing the overwrite input"))?
            .into_unoptimized_plan();
        let mut builder = ft
            .delta
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(ctx.state()))
            .with_save_mode(SaveMode::Overwrite);
        if !prepared.new_columns.is_empty() {
            builder = builder.with_schema_mode(SchemaMode::Merge);
        }
        let table = builder.await.map_err(|e| {
            input
                .take_failure()
                .unwrap_or_else(|| Error::delta(format!("overwriting `{tname}`"))(e))
        })?;
        let rows = input.rows.load(std::sync::atomic::Ordering::Relaxed);
        out.rows = rows;
        out.version = version_of(&table)?;
        out.rows_inserted = rows;
        out.rows_deleted = previous_rows;
        if let Some(entry) = crate::history::read(&table, Some(1))
            .await?
            .into_iter()
            .next()
        {
            let metric = |k: &str| {
                entry
                    .metrics
                    .get(k)
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0)
            };
            out.files_added = metric("num_added_files");
            out.files_removed = metric("num_removed_files");
        }
        Ok(out)
    }
}

fn outcome(mode: WriteMode, version: i64, rows: u64) -> WriteOutcome {
    WriteOutcome {
        mode,
        version,
        rows,
        rows_inserted: 0,
        rows_updated: 0,
        rows_deleted: None,
        files_added: 0,
        files_removed: 0,
        new_columns: Vec::new(),
    }
}

fn qualified(relation: &str, column: &str) -> Expr {
    Expr::Column(Column::new(Some(TableReference::bare(relation)), column))
}

/// The table's row count from file statistics, when every file has them.
fn row_count(table: &DeltaTable) -> Option<u64> {
    let snapshot = table.snapshot().ok()?;
    let mut total = 0u64;
    for file in snapshot.log_data() {
        total += u64::try_from(file.num_records()?).ok()?;
    }
    Some(total)
}

pub(crate) fn check_description(table: &str, description: Option<&str>) -> Result<()> {
    if let Some(d) = description
        && d.chars().count() > MAX_DESCRIPTION_CHARS
    {
        return Err(Error::InvalidCreate {
            table: table.to_string(),
            reason: format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        });
    }
    Ok(())
}

fn check_partition_columns(table: &str, schema: &Schema, partitions: &[String]) -> Result<()> {
    let bad = |reason: String| Error::InvalidCreate {
        table: table.to_string(),
        reason,
    };
    let mut seen = HashMap::new();
    for p in partitions {
        if seen.insert(p.as_str(), ()).is_some() {
            return Err(bad(format!("partition column `{p}` is listed twice")));
        }
        let Ok(f) = schema.field_with_name(p) else {
            let cols: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(bad(format!(
                "partition column `{p}` is not in the data; columns are: {}",
                cols.join(", ")
            )));
        };
        if f.data_type().is_nested() {
            return Err(bad(format!(
                "partition column `{p}` has the nested type {}; partition by a plain column",
                f.data_type()
            )));
        }
    }
    if !partitions.is_empty() && partitions.len() >= schema.fields().len() {
        return Err(bad(
            "at least one column must not be a partition column".into()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_modes_parse_case_insensitively() {
        assert_eq!("MERGE".parse::<WriteMode>(), Ok(WriteMode::Merge));
        assert_eq!("overwrite".parse::<WriteMode>(), Ok(WriteMode::Overwrite));
        assert!(
            "append"
                .parse::<WriteMode>()
                .unwrap_err()
                .contains("`append`")
        );
    }

    #[test]
    fn partition_columns_and_descriptions_are_checked() {
        use deltalake::arrow::datatypes::{DataType, Field};
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("l", DataType::new_list(DataType::Int64, true), true),
        ]);
        let err = |p: &[&str]| {
            let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            check_partition_columns("s.t", &schema, &p)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(&["x"]).contains("partition column `x` is not in the data; columns are: id, l")
        );
        assert!(err(&["id", "id"]).contains("listed twice"));
        assert!(err(&["l"]).contains("nested type"));
        let one = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        let e = check_partition_columns("s.t", &one, &["id".into()]).unwrap_err();
        assert!(e.to_string().contains("at least one column"));
        assert!(check_description("s.t", Some(&"x".repeat(4001))).is_err());
        assert!(check_description("s.t", Some("fine")).is_ok());
    }
}
