//! `fstore publish` and `fstore lookup` against the embedded SQLite store.

use crate::util::Scratch;

fn rows(s: &Scratch, sql: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(s.path().join("fstore-data/online.db")).expect("open db");
    let mut st = db.prepare(sql).expect("prepare");
    let n = st.column_count();
    let mut out: Vec<String> = st
        .query_map([], |r| {
            let mut cells = Vec::new();
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i)?;
                cells.push(match v {
                    rusqlite::types::Value::Null => "NULL".to_string(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(b) => format!("{b:?}"),
                });
            }
            Ok(cells.join("|"))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    out.sort();
    out
}

#[test]
fn publish_merge_filter_features_overwrite_and_lookup() {
    let s = Scratch::new();
    let f = s.file("p.csv", "id,name,age\n1,ann,31\n2,bob,45\n3,cid,27\n");
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

    let out = s
        .run(&["publish", "default.people", "--filter", "age > 30"])
        .ok();
    assert!(
        out.stderr.contains("2 read, 2 inserted, 0 updated"),
        "{}",
        out.stderr
    );
    assert_eq!(rows(&s, "SELECT * FROM people"), ["1|ann|31", "2|bob|45"]);

    // --features publishes keys + the named columns; other online columns stay untouched.
    let ch = s.file("c.csv", "id,name,age\n1,ANN,32\n3,cid,28\n");
    s.run(&[
        "tables",
        "write",
        "default.people",
        "--from",
        ch.to_str().unwrap(),
    ])
    .ok();
    s.run(&["publish", "default.people", "--features", "AGE"])
        .ok();
    assert_eq!(
        rows(&s, "SELECT * FROM people"),
        ["1|ann|32", "2|bob|45", "3|NULL|28"]
    );
    s.run(&["publish", "default.people", "--features", "height"])
        .fails_with("unknown feature column name(s): height");
    s.run(&[
        "publish",
        "default.people",
        "--features",
        "age",
        "--mode",
        "overwrite",
    ])
    .fails_with("--mode merge");

    // Overwrite: the online table becomes exactly the snapshot.
    let del = s.file("all.csv", "id,name,age\n3,cid,28\n9,zed,50\n");
    s.run(&[
        "tables",
        "write",
        "default.people",
        "--from",
        del.to_str().unwrap(),
        "--mode",
        "overwrite",
    ])
    .ok();
    let out = s
        .run(&["publish", "default.people", "--mode", "overwrite"])
        .ok();
    assert!(out.stderr.contains("deleted"), "{}", out.stderr);
    assert_eq!(rows(&s, "SELECT * FROM people"), ["3|cid|28", "9|zed|50"]);

    // Lookup in request order, missing keys reported.
    let l = s
        .run(&[
            "lookup",
            "default.people",
            "--key",
            "id=9",
            "--key",
            "id=1",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    let lines: Vec<&str> = l.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains("\"name\":\"zed\"") && lines[0].contains("\"age\":50"),
        "{l}"
    );
    assert!(lines[1].contains("\"name\":null"), "{l}");
    s.run(&["lookup", "default.people", "--key", "id=x"])
        .fails_with("not an integer");
    s.run(&["lookup", "default.people", "--key", "nope=1"])
        .fails_with("not a primary key");
    s.run(&["lookup", "default.other", "--key", "id=1"])
        .fails_with("not published");
    let list = s.run(&["online", "list"]).ok().stdout;
    assert!(
        list.contains("people") && list.contains("default.people"),
        "{list}"
    );
}

#[test]
fn time_series_publishes_latest_row_per_key() {
    let s = Scratch::new();
    let f = s.file(
        "ts.csv",
        "driver,ts,rating\n1,2024-01-01T10:00:00Z,4.0\n1,2024-01-03T10:00:00Z,4.5\n1,2024-01-02T10:00:00Z,3.0\n2,2024-01-01T00:00:00.123456Z,5.0\n",
    );
    s.run(&[
        "tables",
        "create",
        "default.drivers",
        "-k",
        "driver",
        "--timestamp-key",
        "ts",
        "--from",
        f.to_str().unwrap(),
    ])
    .ok();
    s.run(&["publish", "default.drivers"]).ok();
    assert_eq!(
        rows(&s, "SELECT driver, ts, rating FROM drivers"),
        [
            "1|2024-01-03 10:00:00.000000|4.5",
            "2|2024-01-01 00:00:00.123456|5"
        ]
    );
}

#[test]
fn publish_rejects_values_no_store_can_hold_and_writes_nothing() {
    let s = Scratch::new();
    let f = s.file("p.csv", "id,x\n1,1.5\n2,2.5\n");
    s.run(&[
        "tables",
        "create",
        "default.nums",
        "-k",
        "id",
        "--from",
        f.to_str().unwrap(),
    ])
    .ok();
    s.run(&["publish", "default.nums"]).ok();
    let bad = s.file("bad.csv", "id,x\n1,NaN\n");
    s.run(&[
        "tables",
        "write",
        "default.nums",
        "--from",
        bad.to_str().unwrap(),
    ])
    .ok();
    s.run(&["publish", "default.nums"]).fails_with("NaN");
    assert_eq!(rows(&s, "SELECT * FROM nums"), ["1|1.5", "2|2.5"]);
    s.run(&["publish", "default.nums", "--store", "nope"])
        .fails_with("unknown online store `nope`");
}
