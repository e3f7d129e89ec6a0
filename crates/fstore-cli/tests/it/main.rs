//! End-to-end tests of the `fstore` binary: real Delta tables in a temp dir, real SQLite, the
//! Python `deltalake` package as an independent Delta reader and writer.

mod interop;
mod publish;
mod quickstart;
mod tables;
mod util;
