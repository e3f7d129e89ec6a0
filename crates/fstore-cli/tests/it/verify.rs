//! `fstore online verify` on the embedded SQLite store: exit 0 and "identical" on a clean
//! table, exit 1 with the keys and columns when rows were changed, deleted and added by raw SQL,
//! `--json` for scripts, and a clear error for a table that is not published.

use crate::util::Scratch;

#[test]
fn verify_exits_non_zero_on_differences_and_names_them() {
    let s = Scratch::new();
    let f = s.file(
        "p.csv",
        "id,name,age\n1,ann,31\n2,bob,45\n3,cid,27\n4,dan,50\n",
    );
    s.run(&[
        "tables",
        "create",
        "default.people",
        "-k",
        "id",
        "--from",
        f.to_str().unwrap(),
    ])
    .ok();
    s.run(&["publish", "default.people"]).ok();

    let out = s.run(&["online", "verify", "people"]).ok();
    assert!(
        out.stdout
            .contains("people: identical (version 0 of default.people: 4 rows offline, 4 online"),
        "{}",
        out.stdout
    );

    let db = rusqlite::Connection::open(s.path().join("fstore-data/online.db")).expect("open db");
    db.execute_batch(
        "UPDATE people SET age = 99 WHERE id = 2; DELETE FROM people WHERE id = 3; \
         INSERT INTO people (id, name, age) VALUES (7, 'eve', 20);",
    )
    .expect("raw sql");
    drop(db);

    let out = s
        .run(&["online", "verify", "people"])
        .fails_with("`people` in local differs from version 0 of default.people: 1 missing, 1 extra, 1 different");
    assert!(
        out.stdout
            .contains("different id=2\n            age: offline 45 online 99"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("missing   id=3"), "{}", out.stdout);
    assert!(out.stdout.contains("extra     id=7"), "{}", out.stdout);

    let out = s.run(&["online", "verify", "people", "--json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("one JSON object");
    assert_eq!(
        (&v["missing"], &v["extra"], &v["different"]),
        (&1.into(), &1.into(), &1.into()),
        "{v}"
    );
    assert_eq!(v["examples"][0]["kind"], "different", "{v}");
    assert_eq!(v["examples"][0]["columns"][0]["column"], "age", "{v}");

    s.run(&["online", "verify", "nobody"])
        .fails_with("`nobody` is not published");
}
