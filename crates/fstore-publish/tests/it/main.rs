//! Integration tests of publishing with real identities: `online init` on a real MariaDB, the
//! writer/reader split, and the walk-through's path from Delta to MySQL.

mod identities;
mod incremental;
mod walkthrough;
