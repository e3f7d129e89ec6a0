//! Interoperability with another Delta implementation (Python `deltalake`): it reads what fstore
//! writes, and fstore adopts what it wrote (`testdata/delta/rides_python`: partitioned, five
//! versions, a checkpoint; made by `testdata/make_fixtures.py`).

use crate::util::{Scratch, copy_dir, testdata};

#[test]
fn python_deltalake_reads_a_table_fstore_wrote() {
    let s = Scratch::new();
    let f = s.file("p.csv", "id,name,age\n1,ann,31\n2,bob,45\n");
    s.run(&[
        "tables",
        "create",
        "default.people",
        "-k",
        "id",
        "--from",
        f.to_str().unwrap(),
        "--description",
        "people",
    ])
    .ok();
    let ch = s.file("c.csv", "id,age\n2,46\n3,19\n");
    s.run(&[
        "tables",
        "write",
        "default.people",
        "--from",
        ch.to_str().unwrap(),
    ])
    .ok();
    let out = s.python(
        r#"
from deltalake import DeltaTable
dt = DeltaTable("fstore-data/offline/default/people")
t = dt.to_pyarrow_table().sort_by("id")
print(dt.version())
print(t.to_pylist())
print(dt.metadata().configuration.get("fstore.primaryKeys"))
print(dt.metadata().description)
"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(
        lines[1],
        "[{'id': 1, 'name': 'ann', 'age': 31}, {'id': 2, 'name': 'bob', 'age': 46}, {'id': 3, 'name': None, 'age': 19}]"
    );
    assert_eq!(lines[2], "[\"id\"]");
    assert_eq!(lines[3], "people");
}

#[test]
fn register_adopts_a_table_written_by_python_deltalake() {
    let s = Scratch::new();
    let place = s.path().join("fstore-data/offline/mobility/rides");
    copy_dir(&testdata().join("delta/rides_python"), &place);
    s.run(&[
        "tables",
        "register",
        "mobility.rides",
        "-k",
        "ride_id",
        "--description",
        "rides from python",
    ])
    .ok();
    let d = s.run(&["tables", "describe", "mobility.rides"]).ok().stdout;
    // Python wrote versions 0-4; registering commits the description, then the spec (5, 6).
    assert!(
        d.contains("primary keys:  ride_id") && d.contains("version:       6"),
        "{d}"
    );

    let csv = s
        .run(&[
            "tables",
            "read",
            "mobility.rides",
            "--version",
            "4",
            "--columns",
            "ride_id,city,fare",
            "--format",
            "csv",
        ])
        .ok()
        .stdout;
    let mut lines: Vec<&str> = csv.lines().skip(1).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "1,paris,10.5",
            "2,paris,99.5",
            "3,paris,11.5",
            "4,lyon,12.0",
            "5,lyon,12.5",
            "7,nice,13.5",
            "8,nice,14.0"
        ]
    );
    s.run(&["publish", "mobility.rides"]).ok();
    let l = s
        .run(&[
            "lookup",
            "mobility.rides",
            "--key",
            "ride_id=2",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    assert!(
        l.contains("\"fare\":99.5") && l.contains("\"city\":\"paris\""),
        "{l}"
    );

    // A table somewhere else, adopted by --path.
    let elsewhere = s.path().join("elsewhere/rides");
    copy_dir(&testdata().join("delta/rides_python"), &elsewhere);
    s.run(&[
        "tables",
        "register",
        "mobility.rides2",
        "-k",
        "ride_id",
        "--path",
        elsewhere.to_str().unwrap(),
    ])
    .ok();
    let list = s.run(&["tables", "list"]).ok().stdout;
    assert_eq!(list.trim(), "mobility.rides\nmobility.rides2");

    // Registering with a key the table lacks is refused.
    let other = s.path().join("fstore-data/offline/mobility/rides3");
    copy_dir(&testdata().join("delta/rides_python"), &other);
    s.run(&["tables", "register", "mobility.rides3", "-k", "nope"])
        .fails_with("nope");
}
