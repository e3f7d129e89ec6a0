//! Temporary runner for the MySQL backend tests until `tests/it/main.rs` (the shared conformance
//! suite's test binary) exists and declares `mod mysql;`; then delete this file.

#[path = "it/mysql.rs"]
mod mysql;
