//! Integration tests of `fstore-training`, against real Delta tables in temporary directories.

mod common;
mod docs_example;
mod errors;
mod oracle;
mod spill;
mod versions;
