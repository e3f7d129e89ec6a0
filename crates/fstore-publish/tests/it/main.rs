//! Integration tests of publishing with real identities: `online init` on a real MariaDB and a
//! real PostgreSQL, the writer/reader split, and the walk-through's path from Delta to MySQL.

mod identities;
mod incremental;
mod pg_identities;
mod pg_util;
mod walkthrough;
