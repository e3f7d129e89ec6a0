//! The seed walk-through, literally: database `feature_store`, users `writer` and `reader` with
//! the walk-through's own grants, their credentials in scopes `aurora_writer` / `aurora_reader`
//! under prefix `aurora`, `publish default.online_feature_table --mode merge` with the writer, and
//! `SELECT * FROM feature_store.online_feature_table` with the reader through a plain MySQL client,
//! compared cell by cell with the Delta table.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use fstore_core::config::Config;
use fstore_core::{NoProgress, TableName, TableSpec};
use fstore_offline::{OfflineStore, WriteMode as OfflineMode};
use fstore_publish::stores::open_writer;
use fstore_publish::{PublishOptions, publish};
use fstore_secrets::{Secret, SecretStore, Secrets};
use mysql_async::prelude::Queryable;

use fstore_test_support::mysql::url as server_url;

fn titanic(ids: &[i64], salt: f64) -> RecordBatch {
    let n = ids.len();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(Float64Array::from_iter(
            ids.iter()
                .map(|i| (i % 7 != 0).then_some(*i as f64 * 1.5 + salt)),
        )),
        Arc::new(StringArray::from_iter(
            ids.iter()
                .map(|i| Some(if i % 2 == 0 { "female" } else { "male" })),
        )),
        Arc::new(Int32Array::from_iter_values(
            ids.iter().map(|i| (i % 3 + 1) as i32),
        )),
        Arc::new(StringArray::from_iter(
            ids.iter()
                .map(|i| (i % 5 != 0).then(|| format!("Mr. Näme \"{i}\"\t'x'"))),
        )),
        Arc::new(BooleanArray::from_iter(
            ids.iter().map(|i| Some(i % 4 == 0)),
        )),
        Arc::new(Date32Array::from_iter_values(
            ids.iter().map(|i| 19_000 + *i as i32),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                ids.iter().map(|i| 1_700_000_000_123_456 + i * 1_000_001),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(
            Decimal128Array::from_iter_values(ids.iter().map(|i| *i as i128 * 1234 + 5))
                .with_precision_and_scale(10, 2)
                .expect("decimal"),
        ),
    ];
    assert_eq!(cols[0].len(), n);
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("PassengerId", DataType::Int64, false),
            Field::new("Age", DataType::Float64, true),
            Field::new("Sex", DataType::Utf8, true),
            Field::new("Pclass", DataType::Int32, true),
            Field::new("Name", DataType::Utf8, true),
            Field::new("Survived", DataType::Boolean, true),
            Field::new("Boarded", DataType::Date32, true),
            Field::new(
                "Seen",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("Fare", DataType::Decimal128(10, 2), true),
        ])),
        cols,
    )
    .expect("batch")
}

/// A MySQL cell as text, in the same notation as Arrow's display of the Delta value.
fn mysql_text(v: &mysql_async::Value, ty: &DataType) -> String {
    use mysql_async::Value as V;
    match (v, ty) {
        (V::NULL, _) => String::new(),
        // BIT(1), as Databricks' publisher writes booleans: one byte, 0 or 1 (as its lookup
        // runtime decodes it).
        (V::Bytes(b), DataType::Boolean) => (b.as_slice() == [1]).to_string(),
        (V::Int(i), DataType::Boolean) => (*i == 1).to_string(),
        (V::Bytes(b), DataType::Timestamp(..)) => {
            // DATETIME(6) text `YYYY-MM-DD HH:MM:SS.ffffff` → Arrow's `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
            format!("{}Z", String::from_utf8_lossy(b).replacen(' ', "T", 1))
        }
        (V::Bytes(b), _) => String::from_utf8_lossy(b).into_owned(),
        (V::Int(i), _) => i.to_string(),
        (V::UInt(i), _) => i.to_string(),
        (V::Float(f), _) => f.to_string(),
        (V::Double(f), _) => f.to_string(),
        (other, _) => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_walkthrough_publishes_what_a_plain_mysql_client_reads_back() {
    let url = url::Url::parse(&server_url()).expect("FSTORE_TEST_MYSQL_URL is a URL");
    let mut admin = fstore_test_support::mysql::admin().await;
    // The walk-through's SQL, verbatim but for the passwords.
    for stmt in [
        "DROP DATABASE IF EXISTS feature_store",
        "DROP USER IF EXISTS 'writer'@'%'",
        "DROP USER IF EXISTS 'reader'@'%'",
        "CREATE DATABASE feature_store",
        "CREATE USER 'writer'@'%' IDENTIFIED BY 'writer-pw-0123456789'",
        "CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw-0123456789'",
        "GRANT ALL PRIVILEGES ON feature_store.* TO 'writer'",
        "GRANT SELECT ON feature_store.* TO 'reader'",
    ] {
        admin
            .query_drop(stmt)
            .await
            .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }

    // Two secret scopes holding the two identities, as `databricks secrets put` would.
    let dir = tempfile::tempdir().expect("tmp");
    let config = format!(
        "[offline]\nroot = \"offline\"\n[secrets]\nbackend = \"local\"\npath = \"secrets.enc\"\n[stores.aurora]\nkind = \"mysql\"\nhost = \"{}\"\nport = {}\ndatabase = \"feature_store\"\nread_secret_prefix = \"aurora_reader/aurora\"\nwrite_secret_prefix = \"aurora_writer/aurora\"\ntls = \"preferred\"\n",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(3306)
    );
    let cfg = Config::parse(&config, &dir.path().join("fstore.toml")).expect("config");
    let secrets = Secrets::from_config(&cfg.secrets, dir.path()).expect("secrets");
    for (scope, user, pw) in [
        ("aurora_writer", "writer", "writer-pw-0123456789"),
        ("aurora_reader", "reader", "reader-pw-0123456789"),
    ] {
        secrets.create_scope(scope).expect("scope");
        secrets
            .put(scope, "aurora-user", Secret::new(user))
            .expect("put user");
        secrets
            .put(scope, "aurora-password", Secret::new(pw))
            .expect("put password");
    }

    // The feature table: created, then merged into, as in the walk-through's notebook.
    let offline = OfflineStore::new(&cfg.offline.root, Default::default()).expect("offline");
    let name = TableName::parse("default.online_feature_table").expect("name");
    let first = titanic(&(1..=500).collect::<Vec<_>>(), 0.0);
    offline
        .create(
            &name,
            TableSpec::new(vec!["PassengerId".into()], None).expect("spec"),
            first.schema(),
            vec![first],
            vec![],
        )
        .await
        .expect("create");
    let (_, store) = open_writer(&cfg, Some("aurora")).await.expect("writer");
    publish(
        &offline,
        &store,
        &name,
        &PublishOptions::default(),
        &NoProgress,
    )
    .await
    .expect("first publish");
    offline
        .write(
            &name,
            vec![titanic(&(400..=600).collect::<Vec<_>>(), 0.25)],
            OfflineMode::Merge,
        )
        .await
        .expect("merge offline");
    let report = publish(
        &offline,
        &store,
        &name,
        &PublishOptions::default(),
        &NoProgress,
    )
    .await
    .expect("merge publish");
    // The second publish reads only what the merge changed: 100 new keys, and of the 101
    // existing keys the merge rewrote, the 87 whose values changed (for ids divisible by 7 `Age`
    // is NULL with or without the new salt, so those rows are the same).
    assert!(
        matches!(
            report.method,
            fstore_publish::Method::Incremental {
                from_version: 0,
                ..
            }
        ),
        "{:?}",
        report.method
    );
    assert_eq!((report.write.inserted, report.write.updated), (100, 87));

    // The reader, through a plain MySQL client, sees exactly the Delta table.
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(url.host_str().unwrap_or("127.0.0.1").to_string())
        .tcp_port(url.port().unwrap_or(3306))
        .user(Some("reader"))
        .pass(Some("reader-pw-0123456789"));
    let mut reader = mysql_async::Conn::new(opts).await.expect("reader connects");
    let rows: Vec<mysql_async::Row> = reader
        .query("SELECT * FROM feature_store.online_feature_table ORDER BY PassengerId")
        .await
        .expect("select");
    let table = offline.open(&name).await.expect("open");
    let delta = table.scan(None, None).await.expect("scan");
    let delta = arrow::compute::concat_batches(&table.schema, &delta).expect("concat");
    let order = arrow::compute::sort_to_indices(delta.column(0), None, None).expect("sort");
    let delta = arrow::compute::take_record_batch(&delta, &order).expect("take");
    assert_eq!(rows.len(), delta.num_rows());
    assert_eq!(rows.len(), 600);

    let columns: Vec<String> = rows[0]
        .columns_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    let expected: Vec<String> = delta
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        columns, expected,
        "same column names and order as the feature table"
    );

    let fmt = FormatOptions::default().with_null("");
    for (c, field) in delta.schema().fields().iter().enumerate() {
        let formatter = ArrayFormatter::try_new(delta.column(c).as_ref(), &fmt).expect("formatter");
        for (r, row) in rows.iter().enumerate() {
            let want = formatter.value(r).to_string();
            let got = mysql_text(
                &row.as_ref(c).cloned().unwrap_or(mysql_async::Value::NULL),
                field.data_type(),
            );
            if matches!(field.data_type(), DataType::Float64) && !want.is_empty() {
                // Same double, whatever the notation (`3` vs `3.0`).
                let (g, w): (f64, f64) =
                    (got.parse().expect("number"), want.parse().expect("number"));
                assert_eq!(g.to_bits(), w.to_bits(), "row {r} column {}", field.name());
            } else if matches!(field.data_type(), DataType::Timestamp(..)) {
                // Same microsecond, whatever the notation of the fraction.
                let parse = fstore_core::value::parse_timestamp;
                assert_eq!(
                    parse(&got),
                    parse(&want),
                    "row {r} column {}: {got} vs {want}",
                    field.name()
                );
                assert!(parse(&got).is_some(), "{got}");
            } else {
                assert_eq!(got, want, "row {r} column {}", field.name());
            }
        }
    }

    // The reader cannot write.
    let e = reader
        .query_drop("DELETE FROM feature_store.online_feature_table")
        .await
        .expect_err("reader is read-only");
    assert!(e.to_string().contains("denied"), "{e}");

    drop(reader);
    for stmt in [
        "DROP DATABASE feature_store",
        "DROP USER 'writer'@'%'",
        "DROP USER 'reader'@'%'",
    ] {
        admin.query_drop(stmt).await.expect("cleanup");
    }
}
