//! Integration tests of `fstore-offline` against real Delta tables in temporary directories.

mod catalog;
mod common;
mod create;
mod history;
mod input;
mod rejects;
mod register;
mod scan;
mod time_travel;
mod write;
