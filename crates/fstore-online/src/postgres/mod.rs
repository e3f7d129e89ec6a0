//! The PostgreSQL online store (issue 23) — so far only its wire-level building blocks, which need
//! no driver: the type mapping ([`copy::pg_type`]), the binary `COPY` row encoder the write path
//! will stream into a staging or shadow table, and the `numeric` decoder lookups will use.
//!
//! The design (tokio-postgres, binary `COPY` into staging + `INSERT … ON CONFLICT`, shadow table
//! swapped by `ALTER TABLE … RENAME` in one transaction) is in `/work/shared/design/postgres.md`.

pub mod copy;
