//! End-to-end tests of the `fstore` binary: real Delta tables in a temp dir, real SQLite (and, for
//! crash safety and `publish --watch`, the MariaDB at `FSTORE_TEST_MYSQL_URL` and the PostgreSQL
//! at `FSTORE_TEST_PG_URL`; `postgres.rs` walks through docs/postgres.md), the Python
//! `deltalake` package as an independent Delta reader and writer, and (`s3.rs`) an S3 API server
//! on loopback for `s3://` roots.

mod crash;
mod interop;
mod postgres;
mod project;
mod publish;
mod quickstart;
mod s3;
mod secrets;
mod tables;
mod util;
mod verify;
mod watch;
