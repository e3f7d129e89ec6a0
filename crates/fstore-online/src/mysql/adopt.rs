//! What a merge does about the layout of an existing online table before it writes rows: adopt a
//! table fstore has no record of (one Databricks' publisher made), and migrate one an older fstore
//! published.
//!
//! - **Adoption.** A table without a bookkeeping row keeps its column types when they hold the
//!   published values with the same meaning (`ddl::compatible_type`: Spark's `BIT(1)`, `TEXT`,
//!   `TIMESTAMP`, `BLOB`, …); the merge's transaction records it like any merge, so the next
//!   publish and lookups know its layout. A column of another type is refused by
//!   `merge::plan_merge` before anything is written.
//! - **Migration** of a table recorded with value encoding 1 (`layout::VALUE_ENCODING`):
//!   `TINYINT(1)` booleans become `BIT(1)` (`ALTER TABLE … MODIFY`, which copies the table; 0 and 1
//!   keep their values), under the write lock and before the merge's transaction (MySQL DDL is
//!   not transactional; if the merge then fails the columns are `BIT(1)` with the old record,
//!   which readers and the next publish handle). JSON text cannot be converted in place (the old
//!   text lost map entries with null values), so it is rewritten by the rows the publish writes:
//!   a merge of every row or a change set that is the whole view proceeds, a partial change set
//!   is refused, saying to run a full publish once. The merge's bookkeeping row then records the
//!   current encoding.
//!
//! Each step adds a note to the write's report.

use fstore_core::FeatureType;
use fstore_core::ident::quote_mysql;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::ddl::{self, TableColumn, canonical_type, compatible_type, old_layout_target};
use super::error::{Ctx, Target};
use crate::error::{Result, StoreError, StoreErrorKind};
use crate::layout::{OnlineLayout, VALUE_ENCODING, recorded_encoding};
use crate::merge::ExistingColumn;
use crate::{BOOKKEEPING_TABLE, PublishedTable};

/// The existing columns as `merge::plan_merge` compares them: a column whose server type can
/// hold the layout column's values (`ddl::compatible_type`) is given fstore's own spelling of
/// that type, so it compares equal; any other keeps its server spelling (named in the refusal).
pub fn existing_columns(
    cols: &[TableColumn],
    book: Option<&PublishedTable>,
    layout: &OnlineLayout,
) -> Vec<ExistingColumn> {
    cols.iter()
        .map(|c| {
            let canonical = canonical_type(&c.column_type);
            let key = layout.is_primary_key(&c.name);
            let native_type = match layout.column(&c.name) {
                Some(l) if compatible_type(&canonical, l.ftype, key) => l.ftype.mysql_type(key),
                _ => canonical,
            };
            ExistingColumn {
                name: c.name.clone(),
                native_type,
                ftype: book.and_then(|b| b.layout.column(&c.name)).map(|x| x.ftype),
                primary_key: c.pk > 0,
            }
        })
        .collect()
}

/// The value encoding recorded for `table`: `None` without a bookkeeping row.
async fn encoding(conn: &mut Conn, t: &Target, table: &str) -> Result<Option<u64>> {
    let json: Option<String> = conn
        .exec_first(
            format!(
                "SELECT layout_json FROM {} WHERE online_table = ?",
                quote_mysql(BOOKKEEPING_TABLE)
            ),
            (table,),
        )
        .await
        .with_ctx(t, || format!("reading the bookkeeping row of `{table}`"))?;
    Ok(json.as_deref().map(recorded_encoding))
}

fn names(cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adopts or migrates `layout.table` before a merge (see the module docs) and returns the notes
/// for the report. `rewrites_all_rows`: the write upserts every row of the feature table (a
/// merge, or a change set that is the whole view), so JSON text in the old encoding is replaced.
/// Fails with [`StoreErrorKind::Incompatible`], before anything is changed, when JSON text of
/// an older fstore would stay in rows the write does not touch.
pub async fn prepare(
    conn: &mut Conn,
    t: &Target,
    layout: &OnlineLayout,
    rewrites_all_rows: bool,
    feature_table: &str,
) -> Result<Vec<String>> {
    let table = layout.table.as_str();
    let book = ddl::read_bookkeeping(conn, t, table).await?;
    let cols = ddl::table_columns(conn, t, table).await?;
    let Some(book) = book else {
        let kept: Vec<String> = cols
            .iter()
            .filter_map(|c| {
                let l = layout.column(&c.name)?;
                let canonical = canonical_type(&c.column_type);
                let raw = c.column_type.to_ascii_uppercase();
                // `TEXT` and `MEDIUMTEXT` compare as `LONGTEXT` but keep their size limits.
                let shorter_text = raw.ends_with("TEXT") && raw != "LONGTEXT";
                let own = l.ftype.mysql_type(layout.is_primary_key(&c.name));
                (shorter_text || !canonical.eq_ignore_ascii_case(&own))
                    .then(|| format!("`{}` {raw}", c.name))
            })
            .collect();
        let mut note = format!(
            "adopted the existing online table `{table}`, which fstore had no record of (as one Databricks published); recorded its layout"
        );
        if !kept.is_empty() {
            note.push_str(&format!("; columns keep their types: {}", kept.join(", ")));
        }
        return Ok(vec![note]);
    };
    if encoding(conn, t, table).await?.unwrap_or(VALUE_ENCODING) >= VALUE_ENCODING {
        return Ok(Vec::new());
    }
    let json: Vec<&str> = book
        .layout
        .columns
        .iter()
        .filter(|c| c.ftype == FeatureType::Json)
        .map(|c| c.name.as_str())
        .collect();
    if !json.is_empty() && !rewrites_all_rows {
        return Err(StoreError::new(
            StoreErrorKind::Incompatible,
            format!(
                "online table `{table}` was published by an older fstore, whose JSON text in {} differs from Databricks' (map entries with null values dropped, binary as hex, NaN as null); an incremental publish would leave the rows it does not change in that form. Run `fstore publish {feature_table} --full` (or `--mode overwrite`) once to rewrite every row",
                names(&json)
            ),
        ));
    }
    let mut notes = Vec::new();
    let mut modify = Vec::new();
    let mut converted = Vec::new();
    for c in &cols {
        let Some(recorded) = book.layout.column(&c.name) else {
            continue;
        };
        if let Some(target) = old_layout_target(&canonical_type(&c.column_type), recorded.ftype) {
            let not_null = if c.pk > 0 { " NOT NULL" } else { "" };
            modify.push(format!(
                "MODIFY COLUMN {} {target}{not_null}",
                quote_mysql(&c.name)
            ));
            converted.push(c.name.as_str());
        }
    }
    if !modify.is_empty() {
        conn.query_drop(format!(
            "ALTER TABLE {} {}",
            quote_mysql(table),
            modify.join(", ")
        ))
        .await
        .with_ctx(t, || {
            format!("converting the boolean columns of `{table}` to BIT(1)")
        })?;
        tracing::info!(table, columns = ?converted, "converted TINYINT(1) booleans to BIT(1)");
        notes.push(format!(
            "migrated `{table}` from fstore's older layout: boolean column(s) {} converted from TINYINT(1) to BIT(1), as Databricks' publisher writes them",
            names(&converted)
        ));
    }
    if !json.is_empty() {
        notes.push(format!(
            "migrated `{table}` from fstore's older layout: JSON column(s) {} rewritten in Spark's to_json form by this publish",
            names(&json)
        ));
    }
    Ok(notes)
}
