//! `fstore tables …` through the binary: the happy path and every rejected input, each asserting
//! its message and that nothing was written.

use crate::util::Scratch;

const PEOPLE: &str = "id,name,age,score\n1,ann,31,0.5\n2,bob,45,0.25\n3,cid,27,0.75\n";

fn create_people(s: &Scratch) {
    let f = s.file("people.csv", PEOPLE);
    s.run(&[
        "tables",
        "create",
        "default.people",
        "--primary-key",
        "id",
        "--from",
        f.to_str().unwrap(),
        "--description",
        "people",
        "--tag",
        "team=ml",
    ])
    .ok();
}

#[test]
fn create_without_the_change_data_feed() {
    let s = Scratch::new();
    s.run(&[
        "tables",
        "create",
        "default.users",
        "-k",
        "user_id",
        "--schema",
        "user_id:bigint,age:int",
        "--no-change-data-feed",
    ])
    .ok();
    let d = s.run(&["tables", "describe", "default.users"]).ok().stdout;
    assert!(d.contains("change feed:   off"), "{d}");
}

#[test]
fn create_write_read_describe_history_list_drop() {
    let s = Scratch::new();
    create_people(&s);
    let d = s.run(&["tables", "describe", "default.people"]).ok().stdout;
    assert!(d.contains("primary keys:  id"), "{d}");
    assert!(
        d.contains("description:   people") && d.contains("tag:           team=ml"),
        "{d}"
    );
    assert!(d.contains("age") && d.contains("bigint"), "{d}");
    assert!(d.contains("change feed:   on"), "on by default: {d}");

    // Merge updates only the given columns, inserts new keys and evolves the schema.
    let ch = s.file("changes.csv", "id,age,city\n2,46,lyon\n4,19,nice\n");
    s.run(&[
        "tables",
        "write",
        "default.people",
        "--from",
        ch.to_str().unwrap(),
        "--mode",
        "merge",
    ])
    .ok();
    let csv = s
        .run(&["tables", "read", "default.people", "--format", "csv"])
        .ok()
        .stdout;
    let mut lines: Vec<&str> = csv.lines().collect();
    lines[1..].sort();
    assert_eq!(lines[0], "id,name,age,score,city");
    assert_eq!(
        &lines[1..],
        &[
            "1,ann,31,0.5,",
            "2,bob,46,0.25,lyon",
            "3,cid,27,0.75,",
            "4,,19,,nice"
        ]
    );

    // Time travel: version 0 is the original file.
    let v0 = s
        .run(&[
            "tables",
            "read",
            "default.people",
            "--version",
            "0",
            "--format",
            "csv",
        ])
        .ok()
        .stdout;
    assert_eq!(v0.lines().count(), 4, "{v0}");
    assert!(v0.contains("2,bob,45,0.25"), "{v0}");

    // Filter and projection.
    let f = s
        .run(&[
            "tables",
            "read",
            "default.people",
            "--filter",
            "age > 30",
            "--columns",
            "id,age",
            "--format",
            "jsonl",
        ])
        .ok()
        .stdout;
    assert_eq!(f.lines().count(), 2, "{f}");
    assert!(f.contains("\"age\":46") && !f.contains("name"), "{f}");

    // create, then the merge: a schema change (new column `city`) and the merge itself.
    assert_eq!(s.versions("default.people"), 3);
    let list = s.run(&["tables", "list"]).ok().stdout;
    assert_eq!(list.trim(), "default.people");

    s.run(&["tables", "drop", "default.people"])
        .fails_with("--yes");
    s.run(&["tables", "drop", "default.people", "--yes"]).ok();
    assert_eq!(s.run(&["tables", "list"]).ok().stdout.trim(), "");
    s.run(&["tables", "describe", "default.people"])
        .fails_with("default.people");
}

#[test]
fn create_from_explicit_schema_and_jsonl_and_parquet_output() {
    let s = Scratch::new();
    s.run(&[
        "tables",
        "create",
        "s.events",
        "-k",
        "user",
        "--timestamp-key",
        "ts",
        "--schema",
        "user:string,ts:timestamp,amount:decimal(10,2),ok:boolean",
    ])
    .ok();
    let j = s.file(
        "events.jsonl",
        "{\"user\":\"u1\",\"ts\":\"2024-01-01T00:00:00Z\",\"amount\":\"1.50\",\"ok\":true}\n",
    );
    // JSON lines infer strings for ts/amount: a lossless cast is fine, anything else is an error.
    let r = s.run(&["tables", "write", "s.events", "--from", j.to_str().unwrap()]);
    if r.code != 0 {
        assert!(r.stderr.contains("column"), "{}", r.stderr);
    }
    let out = s.path().join("out.parquet");
    s.run(&[
        "tables",
        "read",
        "s.events",
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    assert!(out.exists());
    s.run(&["tables", "read", "s.events", "--format", "parquet"])
        .fails_with("--out");
}

#[test]
fn bad_inputs_are_rejected_and_nothing_is_written() {
    let s = Scratch::new();
    create_people(&s);
    let before = s.versions("default.people");
    let cases: &[(&str, &str, &str)] = &[
        ("dup.csv", "id,age\n1,1\n1,2\n", "duplicate"),
        (
            "nullkey.csv",
            "id,age\n,1\n2,2\n",
            "NULL in key column `id`",
        ),
        ("nokey.csv", "age\n1\n", "id"),
        ("conflict.csv", "id,age\n1,old\n", "age"),
    ];
    for (file, body, needle) in cases {
        let f = s.file(file, body);
        let r = s.run(&[
            "tables",
            "write",
            "default.people",
            "--from",
            f.to_str().unwrap(),
            "--mode",
            "merge",
        ]);
        let r = r.fails_with(needle);
        assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
        assert_eq!(
            s.versions("default.people"),
            before,
            "{file} wrote a version"
        );
    }

    // Creating: unknown key column, duplicate keys, bad names, unsupported file type.
    let f = s.file("p2.csv", PEOPLE);
    s.run(&[
        "tables",
        "create",
        "default.p2",
        "-k",
        "nope",
        "--from",
        f.to_str().unwrap(),
    ])
    .fails_with("key column `nope` is not in the data");
    let d = s.file("d.csv", "id,x\n1,1\n1,1\n");
    s.run(&[
        "tables",
        "create",
        "default.p3",
        "-k",
        "id",
        "--from",
        d.to_str().unwrap(),
    ])
    .fails_with("duplicate");
    s.run(&[
        "tables",
        "create",
        "bad-name",
        "-k",
        "id",
        "--from",
        f.to_str().unwrap(),
    ])
    .fails_with("invalid table name");
    let t = s.file("x.txt", "hello");
    s.run(&[
        "tables",
        "create",
        "default.p4",
        "-k",
        "id",
        "--from",
        t.to_str().unwrap(),
    ])
    .fails_with("x.txt");
    s.run(&[
        "tables",
        "create",
        "default.p5",
        "-k",
        "id",
        "--schema",
        "id:bigint,u:uint64",
    ])
    .fails_with("unknown type `uint64`");
    assert_eq!(
        s.run(&["tables", "list"]).ok().stdout.trim(),
        "default.people"
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
    .fails_with("already exists");
    s.run(&["tables", "read", "default.people", "--filter", "age >>> 3"])
        .fails_with("age >>> 3");
    s.run(&["tables", "read", "default.nope"])
        .fails_with("default.nope");
}

#[test]
fn bad_config_file_names_file_line_and_key() {
    let s = Scratch::new();
    s.file(
        "fstore.toml",
        "[offline]\nroot = \"./x\"\n\n[stores.local]\nkind = \"sqlite\"\npaht = \"a.db\"\n",
    );
    s.run(&["tables", "list"])
        .fails_with("fstore.toml: line 6, key `stores.local.paht`");
    let r = s.run(&["--config", "missing.toml", "tables", "list"]);
    r.fails_with("missing.toml");
}

#[test]
fn history_says_what_changed_and_raw_shows_the_parameters() {
    let s = Scratch::new();
    create_people(&s);
    let ch = s.file("changes.csv", "id,age\n2,46\n4,19\n");
    s.run(&[
        "tables",
        "write",
        "default.people",
        "--from",
        ch.to_str().unwrap(),
        "--mode",
        "merge",
    ])
    .ok();
    let all = s.file("all.csv", "id,age\n7,1\n");
    s.run(&[
        "tables",
        "write",
        "default.people",
        "--from",
        all.to_str().unwrap(),
        "--mode",
        "overwrite",
    ])
    .ok();
    let h = s.run(&["tables", "history", "default.people"]).ok().stdout;
    let lines: Vec<&str> = h.lines().collect();
    assert_eq!(lines.len(), 3, "{h}");
    assert!(lines[0].ends_with("WRITE (overwrite)  1 row"), "{h}");
    assert!(
        lines[1].ends_with("MERGE  1 inserted, 1 updated, from 2 rows"),
        "{h}"
    );
    assert!(lines[2].ends_with("CREATE TABLE  3 rows"), "{h}");
    assert!(!h.contains("mergePredicate"), "{h}");
    let raw = s
        .run(&["tables", "history", "default.people", "--raw"])
        .ok()
        .stdout;
    assert!(
        raw.contains("mergePredicate=") && raw.contains("num_target_rows_updated=1"),
        "{raw}"
    );
}

#[test]
fn read_prints_null_apart_from_the_empty_string() {
    let s = Scratch::new();
    let f = s.file(
        "names.jsonl",
        "{\"id\": 1, \"name\": \"\"}\n{\"id\": 2, \"name\": null}\n",
    );
    s.run(&[
        "tables",
        "create",
        "default.names",
        "-k",
        "id",
        "--from",
        f.to_str().unwrap(),
    ])
    .ok();
    let out = s.run(&["tables", "read", "default.names"]).ok().stdout;
    let row = |id: &str| {
        out.lines()
            .find(|l| l.split('|').nth(1).map(str::trim) == Some(id))
            .unwrap_or_else(|| panic!("no row {id} in\n{out}"))
            .split('|')
            .nth(2)
            .expect("name cell")
            .trim()
            .to_string()
    };
    assert_eq!(row("1"), "", "{out}");
    assert_eq!(row("2"), "NULL", "{out}");
}
