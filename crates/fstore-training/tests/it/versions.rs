//! Reading feature tables (and a spine table) at a chosen Delta version, so a training set can be
//! rebuilt exactly; the versions read are reported.

use fstore_offline::{TimeTravel, WriteMode};
use fstore_training::{FeatureLookup, Spine, TableRead, TrainingOptions};

use crate::common::*;

#[tokio::test]
async fn reads_each_table_at_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let users = batch(vec![
        ("user_id", ints(vec![Some(1), Some(2)])),
        ("age", ints(vec![Some(30), Some(40)])),
    ]);
    create(&store, "s.users", spec(&["user_id"], None), users).await;
    let changed = batch(vec![
        ("user_id", ints(vec![Some(1)])),
        ("age", ints(vec![Some(31)])),
    ]);
    store
        .write(&name("s.users"), vec![changed], WriteMode::Merge)
        .await
        .unwrap();
    let spine = batch(vec![("user_id", ints(vec![Some(1), Some(2), Some(3)]))]);
    create(&store, "s.spine", spec(&["user_id"], None), spine.clone()).await;
    let lookup = || vec![FeatureLookup::new(name("s.users"))];

    let latest = run(&store, spine.clone(), lookup(), TrainingOptions::default())
        .await
        .unwrap();
    assert_eq!(
        latest.column(1).as_ref(),
        ints(vec![Some(31), Some(40), None]).as_ref()
    );

    let mut opts = TrainingOptions::default();
    opts.table_versions
        .insert(name("s.users"), TimeTravel::Version(0));
    let set = fstore_training::training_set(&store, Spine::Table(name("s.spine")), lookup(), opts)
        .await
        .unwrap();
    assert_eq!(
        set.tables_read(),
        &[
            TableRead {
                name: name("s.spine"),
                version: 0
            },
            TableRead {
                name: name("s.users"),
                version: 0
            }
        ]
    );
    let rows = set.collect().await.unwrap();
    let mut ages: Vec<Option<i64>> = Vec::new();
    for b in &rows {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        let age = b
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap();
        for i in 0..b.num_rows() {
            ages.push(if ids.value(i) == 1 {
                age.iter().nth(i).flatten()
            } else {
                None
            });
        }
    }
    assert_eq!(ages.iter().flatten().collect::<Vec<_>>(), vec![&30]);

    // A global version beyond a table's history is refused by name.
    let opts = TrainingOptions {
        as_of: TimeTravel::Version(5),
        ..Default::default()
    };
    let e = run(&store, spine, lookup(), opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("s.users") && e.contains("versions 0 to 1"),
        "{e}"
    );
}
