//! Integration tests of `fstore serve` through real HTTP on 127.0.0.1, against SQLite (a temp
//! file) and MariaDB (`FSTORE_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`, one database
//! per test; the tests fail, never skip, when it is unreachable), plus property tests of request
//! decoding through the router; the same scenarios on PostgreSQL (`FSTORE_TEST_PG_URL`).

mod common;
mod fuzz;
mod mysql;
mod openapi;
mod postgres;
mod scenarios;
mod sqlite;
