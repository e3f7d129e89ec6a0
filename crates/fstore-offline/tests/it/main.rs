//! Integration tests of `fstore-offline` against real Delta tables in temporary directories.

mod catalog;
mod common;
mod create;
mod history;
mod input;
mod interop;
mod register;
mod rejects;
mod scan;
mod streaming;
mod time_travel;
mod write;
