//! PostgreSQL backend tests against a real server (`FSTORE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432`): the shared conformance suite plus PostgreSQL's own
//! limits. Each test works in its own database `fstore_t_<hash of the test name>`, dropped first
//! and at the end of a passing test. An unreachable server fails the test with instructions; it
//! never skips.

use fstore_online::postgres::PostgresStore;
use fstore_online::{OnlineStore, StoreErrorKind};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::conformance::{self, Harness, RawColumn, RawRow};

use fstore_test_support::pg::{client, fresh_database};
use fstore_test_support::pg::{server as target, unreachable};
use fstore_test_support::{current_test, db_name};

/// A store on `database`, schema `public`, as the URL's user.
pub(crate) async fn store(database: &str) -> PostgresStore {
    let t = target();
    PostgresStore::connect_plain(&t.host, t.port, database, "public", &t.user, &t.password)
        .await
        .unwrap_or_else(|e| unreachable(e))
}

fn test_database() -> String {
    db_name("fstore-online", &current_test())
}

/// The conformance harness: a fresh database per case.
pub struct PgHarness {
    name: String,
}

/// One cell as the suite's text form: integers and booleans as digits, floats as Rust prints
/// them, bytea as hex, everything else as PostgreSQL's text output.
fn render(row: &tokio_postgres::Row, i: usize) -> Option<String> {
    let ty = row.columns()[i].type_();
    if *ty == Type::BOOL {
        row.get::<_, Option<bool>>(i)
            .map(|b| u8::from(b).to_string())
    } else if *ty == Type::INT2 {
        row.get::<_, Option<i16>>(i).map(|v| v.to_string())
    } else if *ty == Type::INT4 {
        row.get::<_, Option<i32>>(i).map(|v| v.to_string())
    } else if *ty == Type::INT8 {
        row.get::<_, Option<i64>>(i).map(|v| v.to_string())
    } else if *ty == Type::FLOAT4 {
        row.get::<_, Option<f32>>(i).map(|v| v.to_string())
    } else if *ty == Type::FLOAT8 {
        row.get::<_, Option<f64>>(i).map(|v| v.to_string())
    } else if *ty == Type::BYTEA {
        row.get::<_, Option<Vec<u8>>>(i)
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
    } else {
        row.get::<_, Option<String>>(i)
    }
}

/// `SELECT` of every column of `table`, keeping types the renderer decodes itself and casting
/// the rest to text.
async fn select_all(c: &Client, table: &str) -> Vec<tokio_postgres::Row> {
    let cols = c
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .unwrap();
    let list: Vec<String> = cols
        .iter()
        .map(|r| {
            let name: String = r.get(0);
            let ty: String = r.get(1);
            let q = format!("\"{}\"", name.replace('"', "\"\""));
            match ty.as_str() {
                "boolean" | "smallint" | "integer" | "bigint" | "real" | "double precision"
                | "bytea" | "text" => q,
                _ => format!("{q}::text"),
            }
        })
        .collect();
    c.query(
        &format!(
            "SELECT {} FROM \"{}\"",
            list.join(", "),
            table.replace('"', "\"\"")
        ),
        &[],
    )
    .await
    .unwrap()
}

impl Harness for PgHarness {
    async fn new() -> Option<Self> {
        let name = test_database();
        fresh_database(&name).await;
        Some(Self { name })
    }

    async fn store(&self) -> OnlineStore {
        OnlineStore::Postgres(store(&self.name).await)
    }

    async fn columns(&self, table: &str) -> Vec<RawColumn> {
        let c = client(&self.name).await;
        let rows = c
            .query(
                "SELECT a.attname::text, a.attnotnull,
                        COALESCE((SELECT k.n FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(att, n)
                                  WHERE k.att = a.attnum), 0)::int4
                 FROM pg_attribute a
                 JOIN pg_class t ON t.oid = a.attrelid
                 JOIN pg_namespace n ON n.oid = t.relnamespace
                 LEFT JOIN pg_index i ON i.indrelid = t.oid AND i.indisprimary
                 WHERE n.nspname = 'public' AND t.relname = $1 AND a.attnum > 0
                   AND NOT a.attisdropped
                 ORDER BY a.attnum",
                &[&table],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| RawColumn {
                name: r.get(0),
                not_null: r.get(1),
                pk: r.get::<_, i32>(2) as usize,
            })
            .collect()
    }

    async fn rows(&self, table: &str) -> Vec<RawRow> {
        let c = client(&self.name).await;
        let mut out: Vec<RawRow> = select_all(&c, table)
            .await
            .iter()
            .map(|r| (0..r.len()).map(|i| render(r, i)).collect())
            .collect();
        out.sort();
        out
    }

    async fn tables(&self) -> Vec<String> {
        let c = client(&self.name).await;
        let mut names: Vec<String> = c
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        names.sort();
        names
    }

    fn probe(
        &self,
        table: &str,
        column: &str,
    ) -> Box<dyn FnMut() -> Result<(i64, i64), String> + Send> {
        let sql = format!(
            "SELECT COUNT(*)::int8, COALESCE(SUM(\"{}\"), 0)::int8 FROM \"{}\"",
            column.replace('"', "\"\""),
            table.replace('"', "\"\"")
        );
        let name = self.name.clone();
        let mut state: Option<(tokio::runtime::Runtime, Option<Client>)> = None;
        Box::new(move || {
            if state.is_none() {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                state = Some((rt, None));
            }
            let Some((rt, conn)) = state.as_mut() else {
                return Err("no runtime".into());
            };
            rt.block_on(async {
                if conn.is_none() {
                    *conn = Some(client(&name).await);
                }
                let c = conn.as_ref().ok_or("no connection")?;
                let row = c.query_one(&sql, &[]).await.map_err(|e| e.to_string())?;
                Ok((row.get(0), row.get(1)))
            })
        })
    }
}

conformance_tests!(postgres_conformance, crate::postgres::PgHarness);

// ---------------------------------------------------------------------------------------------
// PostgreSQL's own limits: refused up front, nothing written.

use arrow::array::{ArrayRef, Int64Array, StringArray};
use fstore_core::NoProgress;
use fstore_online::{OnlineReader, OnlineWriter, PublishRecord, WriteMode};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_text_and_long_names_are_refused_before_anything_is_written() {
    let h = PgHarness::new().await.unwrap();
    let store = h.store().await;
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    let names: ArrayRef = Arc::new(StringArray::from(vec![Some("ok"), Some("nul\0inside")]));
    let b = conformance::batch(vec![("id", ids.clone()), ("name", names)]);
    let l = conformance::layout(&b, &["id"], None);
    let record = PublishRecord {
        feature_table: "default.features".into(),
        delta_version: 1,
    };
    let err = store
        .write(&l, WriteMode::Merge, vec![b], &record, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("NUL"), "{err}");
    assert!(
        h.tables().await.iter().all(|t| !t.contains("features")),
        "{:?}",
        h.tables().await
    );

    let long = "c".repeat(64);
    let vals: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some("b")]));
    let b = conformance::batch(vec![("id", ids), (long.as_str(), vals)]);
    let l = conformance::layout(&b, &["id"], None);
    let err = store
        .write(&l, WriteMode::Merge, vec![b], &record, &NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("63"), "{err}");
    assert!(store.list().await.unwrap().is_empty());
    let admin = client("postgres").await;
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            h.name
        ))
        .await
        .unwrap();
}

/// PostgreSQL grants belong to the table object: an overwrite that swaps a new table in must
/// carry over the grants of the one it replaces, or a reader granted on the table (rather than
/// by default privileges) would lose it at every overwrite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overwrite_keeps_the_grants_of_the_table_it_replaces() {
    let h = PgHarness::new().await.unwrap();
    let store = h.store().await;
    let role = format!("{}_r", h.name);
    let admin = client(&h.name).await;
    admin
        .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .await
        .unwrap();
    let people = |v: &str| {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let names: ArrayRef = Arc::new(StringArray::from(vec![Some(v), Some(v)]));
        conformance::batch(vec![("id", ids), ("name", names)])
    };
    let b = people("a");
    let l = conformance::layout(&b, &["id"], None);
    let record = PublishRecord {
        feature_table: "default.features".into(),
        delta_version: 1,
    };
    store
        .write(&l, WriteMode::Merge, vec![b], &record, &NoProgress)
        .await
        .unwrap();
    admin
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA public TO \"{role}\"; GRANT SELECT ON features, _fstore_published TO \"{role}\""
        ))
        .await
        .unwrap();
    store
        .write(
            &l,
            WriteMode::Overwrite,
            vec![people("b")],
            &record,
            &NoProgress,
        )
        .await
        .unwrap();
    let t = target();
    let reader = PostgresStore::connect_plain(&t.host, t.port, &h.name, "public", &role, "")
        .await
        .unwrap();
    let r = reader
        .lookup("features", &[vec![fstore_core::Value::Int(1)]], None)
        .await
        .unwrap();
    assert_eq!(
        r.rows,
        vec![Some(vec![fstore_core::Value::String("b".into())])]
    );
    // Still SELECT only: the copied grants are the ones the old table had, nothing more.
    let privileges = admin
        .query_one(
            "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM information_schema.role_table_grants WHERE table_name = 'features' AND grantee = $1",
            &[&role],
        )
        .await
        .unwrap();
    assert_eq!(
        privileges.get::<_, Option<String>>(0).as_deref(),
        Some("SELECT")
    );
    drop(reader);
    let root = client("postgres").await;
    root.batch_execute(&format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        h.name
    ))
    .await
    .unwrap();
    root.batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
        .await
        .unwrap();
}
