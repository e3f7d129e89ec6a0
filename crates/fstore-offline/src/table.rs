//! One opened feature table at one version, and reading it: projection, a SQL filter parsed as a
//! single DataFusion expression (so it can never smuggle another statement), and for time-series
//! tables the latest row per primary key.

use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::functions_window::expr_fn::row_number;
use deltalake::datafusion::logical_expr::ExprFunctionExt;
use deltalake::datafusion::prelude::{DataFrame, Expr, JoinType, SessionContext, ident, lit};
use deltalake::delta_datafusion::create_session;
use deltalake::logstore::LogStore;
use fstore_core::{TableName, TableSpec};
use url::Url;

use crate::error::{Error, Result};

/// Name of the helper column used by [`FeatureTable::scan_latest`].
const ROW_NUMBER_COLUMN: &str = "__fstore_row_number";
/// Prefix of the key columns of [`FeatureTable::scan_latest_for_keys`]'s join.
const KEY_COLUMN_PREFIX: &str = "__fstore_key_";

/// A feature table opened at one version.
#[derive(Clone, Debug)]
pub struct FeatureTable {
    pub name: TableName,
    pub spec: TableSpec,
    /// The Delta version this handle reads.
    pub version: i64,
    /// The table's columns as Arrow types (what [`FeatureTable::scan`] returns).
    pub schema: SchemaRef,
    /// Where the Delta table is (under the root, or where it was registered from).
    pub location: Url,
    pub partition_columns: Vec<String>,
    /// True when the table lives outside the root and is known through a link file.
    pub registered_by_link: bool,
    pub(crate) delta: DeltaTable,
}

impl FeatureTable {
    /// The underlying Delta table, loaded at [`FeatureTable::version`].
    pub fn delta(&self) -> &DeltaTable {
        &self.delta
    }

    /// Whether the table records Delta's change data feed (`delta.enableChangeDataFeed`) at
    /// this version.
    pub fn change_data_feed(&self) -> bool {
        self.delta.snapshot().is_ok_and(|s| {
            s.metadata()
                .configuration()
                .get(crate::CDF_PROPERTY)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
    }

    /// Reads rows. `columns` selects exactly those columns in that order (`None` or an empty
    /// list: all columns); `filter` is one SQL boolean expression over the table's columns,
    /// e.g. `Age > 30 AND Sex = 'female'` (column names are case-sensitive; quote unusual ones
    /// with double quotes).
    pub async fn scan(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
    ) -> Result<Vec<RecordBatch>> {
        self.query(columns, filter, false, None).await
    }

    /// Like [`FeatureTable::scan`], but for a time-series table returns only the latest row per
    /// primary key (by the timestamp key, NULL timestamps last), chosen after the filter.
    /// For other tables this is the same as `scan`.
    pub async fn scan_latest(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
    ) -> Result<Vec<RecordBatch>> {
        self.query(columns, filter, true, None).await
    }

    /// [`FeatureTable::scan_latest`] restricted to the primary keys in `keys` (a batch holding
    /// the primary-key columns, by name): the rows of those keys only.
    pub async fn scan_latest_for_keys(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
        keys: &RecordBatch,
    ) -> Result<Vec<RecordBatch>> {
        if keys.num_rows() == 0 {
            return Ok(Vec::new());
        }
        self.query(columns, filter, true, Some(keys)).await
    }

    /// The Delta table's id (its metadata id), which a re-created table does not share.
    pub fn table_id(&self) -> Result<String> {
        Ok(self
            .delta
            .snapshot()
            .map_err(Error::delta("reading table metadata"))?
            .metadata()
            .id()
            .to_string())
    }

    /// The newest version in the table's log (newer than [`FeatureTable::version`] when someone
    /// committed since this handle was opened). Cheap: lists the log, reads no data.
    pub async fn latest_version(&self) -> Result<i64> {
        let v = self
            .delta
            .log_store()
            .get_latest_version(self.version.max(0) as u64)
            .await
            .map_err(Error::delta(format!("reading the log of `{}`", self.name)))?;
        Ok(v as i64)
    }

    /// Total size in bytes of the data files of this version.
    pub fn data_bytes(&self) -> Result<u64> {
        let snapshot = self
            .delta
            .snapshot()
            .map_err(Error::delta("reading the table's files"))?;
        Ok(snapshot
            .log_data()
            .into_iter()
            .map(|f| u64::try_from(f.size()).unwrap_or(0))
            .sum())
    }

    /// Rows in this version, from the data files' statistics: `None` when a file has no row
    /// count or a deletion vector (rows the statistics still count).
    pub fn row_count(&self) -> Result<Option<u64>> {
        let snapshot = self
            .delta
            .snapshot()
            .map_err(Error::delta("reading the table's files"))?;
        let mut rows = 0u64;
        for f in snapshot.log_data() {
            if f.deletion_vector_descriptor().is_some() {
                return Ok(None);
            }
            match f.num_records() {
                Some(n) => rows += n as u64,
                None => return Ok(None),
            }
        }
        Ok(Some(rows))
    }

    pub(crate) fn output_columns(&self, columns: Option<&[String]>) -> Result<Vec<String>> {
        let all = || {
            self.schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        };
        let Some(columns) = columns.filter(|c| !c.is_empty()) else {
            return Ok(all());
        };
        for c in columns {
            if self.schema.field_with_name(c).is_err() {
                return Err(Error::UnknownColumn {
                    table: self.name.to_string(),
                    column: c.clone(),
                    columns: all().join(", "),
                });
            }
        }
        Ok(columns.to_vec())
    }

    async fn query(
        &self,
        columns: Option<&[String]>,
        filter: Option<&str>,
        latest: bool,
        keys: Option<&RecordBatch>,
    ) -> Result<Vec<RecordBatch>> {
        let ctx: SessionContext = create_session().into_inner();
        let (df, expected) = self.plan_query(&ctx, columns, filter, latest, keys).await?;
        let batches = df
            .collect()
            .await
            .map_err(df_error(format!("reading `{}`", self.name)))?;
        batches
            .into_iter()
            .map(|b| to_schema(&b, &expected))
            .collect()
    }

    /// The plan of a read in `ctx` (projection, filter, key semi-join, latest row per key), and
    /// the schema its batches are cast to (see [`to_schema`]).
    pub(crate) async fn plan_query(
        &self,
        ctx: &SessionContext,
        columns: Option<&[String]>,
        filter: Option<&str>,
        latest: bool,
        keys: Option<&RecordBatch>,
    ) -> Result<(DataFrame, SchemaRef)> {
        let output = self.output_columns(columns)?;
        self.delta
            .update_datafusion_session(&ctx.state())
            .map_err(Error::delta(format!("preparing to read `{}`", self.name)))?;
        let provider = self
            .delta
            .table_provider()
            .await
            .map_err(df_error(format!("opening `{}` for reading", self.name)))?;
        let mut df = ctx
            .read_table(provider)
            .map_err(df_error(format!("opening `{}` for reading", self.name)))?;

        if let Some(filter) = filter {
            df = self.apply_filter(ctx, df, filter)?;
        }
        if let Some(keys) = keys {
            df = self.semi_join(ctx, df, keys)?;
        }
        if latest && let Some(ts) = &self.spec.timestamp_key {
            let rn = row_number()
                .partition_by(self.spec.primary_keys.iter().map(ident).collect())
                .order_by(vec![ident(ts).sort(false, false)])
                .build()
                .map_err(df_error("planning the latest-row query"))?
                .alias(ROW_NUMBER_COLUMN);
            df = df
                .window(vec![rn])
                .and_then(|df| df.filter(ident(ROW_NUMBER_COLUMN).eq(lit(1u64))))
                .map_err(df_error("planning the latest-row query"))?;
        }
        df = df
            .select(output.iter().map(ident).collect::<Vec<Expr>>())
            .map_err(df_error("planning the projection"))?;
        let expected = Arc::new(Schema::new(
            output
                .iter()
                .map(|c| self.schema.field_with_name(c).expect("checked").clone())
                .collect::<Vec<_>>(),
        ));
        Ok((df, expected))
    }

    /// Keeps the rows of `df` whose primary key is in `keys`.
    fn semi_join(
        &self,
        ctx: &SessionContext,
        df: DataFrame,
        keys: &RecordBatch,
    ) -> Result<DataFrame> {
        let plan = df_error("planning the key lookup");
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        let mut right = Vec::new();
        for (i, k) in self.spec.primary_keys.iter().enumerate() {
            let column = keys
                .column_by_name(k)
                .ok_or_else(|| Error::Internal(format!("the key batch lacks primary key `{k}`")))?;
            // The key columns take the scan's types (strings may be read as views).
            let want = df
                .schema()
                .field_with_unqualified_name(k)
                .map_err(df_error("planning the key lookup"))?
                .data_type()
                .clone();
            let column = cast(column, &want)
                .map_err(Error::arrow(format!("converting key column `{k}`")))?;
            let name = format!("{KEY_COLUMN_PREFIX}{i}");
            fields.push(deltalake::arrow::datatypes::Field::new(&name, want, true));
            arrays.push(column);
            right.push(name);
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(Error::arrow("assembling the key batch"))?;
        let keys_df = ctx
            .read_batch(batch)
            .map_err(df_error("planning the key lookup"))?;
        let left: Vec<&str> = self.spec.primary_keys.iter().map(String::as_str).collect();
        let right: Vec<&str> = right.iter().map(String::as_str).collect();
        df.join(keys_df, JoinType::LeftSemi, &left, &right, None)
            .map_err(plan)
    }

    pub(crate) fn apply_filter(
        &self,
        ctx: &SessionContext,
        df: DataFrame,
        filter: &str,
    ) -> Result<DataFrame> {
        let bad = |e: DataFusionError| Error::BadFilter {
            table: self.name.to_string(),
            filter: filter.to_string(),
            reason: clean_df_message(&e),
        };
        let expr = ctx.parse_sql_expr(filter, df.schema()).map_err(bad)?;
        let df = df.filter(expr).map_err(bad)?;
        // Type errors (e.g. comparing a number with 'abc') surface when the plan is analysed.
        df.clone().into_optimized_plan().map_err(bad)?;
        Ok(df)
    }
}

/// Casts a result batch to the table's Arrow types (DataFusion reads strings as views and
/// partition values as dictionaries).
pub(crate) fn to_schema(batch: &RecordBatch, expected: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(expected.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type())
                    .map_err(Error::arrow(format!("converting column `{}`", f.name())))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new(expected.clone(), columns).map_err(Error::arrow("assembling the result"))
}

/// DataFusion's messages carry planner prefixes and backtraces; users need only the gist.
fn clean_df_message(e: &DataFusionError) -> String {
    let e = e.find_root();
    let msg = e.to_string();
    let msg = msg.split("\nbacktrace").next().unwrap_or(&msg).trim();
    let mut msg = msg
        .replace("\"?table?\".", "")
        .replace("?table?.", "")
        .replace(
            " or disable the datafusion.sql_parser.enable_ident_normalization configuration",
            "",
        )
        .replace('\n', " ");
    for prefix in [
        "Error during planning: ",
        "SQL error: ",
        "Schema error: ",
        "Arrow error: ",
        "Execution error: ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            msg = rest.to_string();
        }
    }
    if let Some(inner) = msg
        .strip_prefix("ParserError(\"")
        .and_then(|m| m.strip_suffix("\")"))
    {
        msg = format!("syntax error: {inner}");
    }
    msg
}

/// Maps a DataFusion failure while reading: storage failures are environmental, the rest ours.
pub(crate) fn df_error(context: impl Into<String>) -> impl FnOnce(DataFusionError) -> Error {
    let context = context.into();
    move |e| match e {
        DataFusionError::ObjectStore(source) => Error::Storage {
            context,
            source: *source,
        },
        other => Error::DataFusion {
            context,
            source: other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datafusion_messages_lose_internal_noise() {
        let e = DataFusionError::Plan(
            "No field named \"?table?\".\"Nope\".\nValid fields are \"a\".".into(),
        );
        assert_eq!(
            clean_df_message(&e),
            "No field named \"Nope\". Valid fields are \"a\"."
        );
        let e = DataFusionError::SQL(
            Box::new(
                deltalake::datafusion::sql::sqlparser::parser::ParserError::ParserError(
                    "Expected: x".into(),
                ),
            ),
            None,
        );
        assert_eq!(clean_df_message(&e), "syntax error: Expected: x");
    }
}
