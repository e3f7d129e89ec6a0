//! `online init` on PostgreSQL (14+, RDS/Aurora, Lakebase): the database, the schema, a writer
//! role that owns the feature tables and a reader role that can only `SELECT` them.
//!
//! The administrator needs `CREATEROLE` and `CREATEDB` (an RDS/Aurora master user, which is not
//! a superuser), never superuser-only statements. It owns the database and the schema; the
//! writer gets `CREATE` on the schema and so owns every table it creates (only an owner may
//! `RENAME`/`DROP` the swapped tables). The reader's `SELECT` on tables created later comes
//! from default privileges, which are set *connected as the writer*: `ALTER DEFAULT PRIVILEGES
//! FOR ROLE writer` would need membership in the writer, which a `CREATEROLE` user no longer has
//! on PostgreSQL 16+ (design/postgres.md §5).
//!
//! Passwords never reach the server in clear: the role's SCRAM-SHA-256 verifier is computed
//! here (as psql's `\password` does) and sent as a quoted literal — PostgreSQL cannot bind
//! parameters of utility statements — so no server log or `pg_stat_activity` shows one.

use std::time::Duration;

use fstore_core::config::PostgresConfig;
use fstore_online::postgres::conn::{Conn, ConnectOptions, connect};
use fstore_online::postgres::copy::check_identifier;
use fstore_online::postgres::ddl::{ensure_bookkeeping, q, qualified};
use fstore_online::postgres::error::Ctx;
use fstore_online::{StoreError, StoreErrorKind};

use super::{InitOptions, InitReport, Planned};
use crate::Result;

type StoreResult<T> = std::result::Result<T, StoreError>;

/// Databases tried, in order, to create the store's database from when it does not exist.
const MAINTENANCE_DATABASES: [&str; 2] = ["postgres", "template1"];

/// The administrator's connection to a PostgreSQL store.
pub(super) struct Admin<'a> {
    cfg: &'a PostgresConfig,
    admin: ConnectOptions,
    conn: Conn,
    /// Set when the store's database does not exist (yet): the maintenance database the
    /// connection is to.
    on_maintenance: Option<&'static str>,
}

fn bad(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::BadRequest, message)
}

/// Role names fstore creates: letters, digits and `_` (quoted anyway), at most 63 bytes (longer
/// names are truncated by the server), not `pg_…` (reserved for built-in roles).
fn check_role(what: &str, name: &str) -> StoreResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.to_ascii_lowercase().starts_with("pg_");
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "invalid {what} `{name}`: use at most 63 letters, digits and `_`, not starting with a digit or `pg_`"
        )))
    }
}

fn check_password(p: &str) -> StoreResult<()> {
    if p.len() >= 16 && p.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(bad(
            "generated passwords must be at least 16 letters and digits".into(),
        ))
    }
}

/// `s` as an SQL string literal, as libpq's `PQescapeLiteral` writes it: quotes doubled, and
/// with backslashes doubled under `E'…'` so the result means the same whatever
/// `standard_conforming_strings` is. NUL cannot be in a literal at all.
pub(crate) fn quote_literal(s: &str) -> StoreResult<String> {
    if s.contains('\0') {
        return Err(bad("a NUL character cannot be sent to PostgreSQL".into()));
    }
    let escaped = s.replace('\'', "''");
    Ok(if s.contains('\\') {
        format!(" E'{}'", escaped.replace('\\', "\\\\"))
    } else {
        format!("'{escaped}'")
    })
}

/// `PASSWORD '<SCRAM-SHA-256 verifier>'` for `password`.
fn password_clause(password: &str) -> StoreResult<String> {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    Ok(format!("PASSWORD {}", quote_literal(&verifier)?))
}

fn options(cfg: &PostgresConfig, database: &str, user: &str, password: &str) -> ConnectOptions {
    ConnectOptions {
        host: cfg.host.clone(),
        port: cfg.port,
        database: database.to_string(),
        user: user.to_string(),
        password: password.to_string(),
        tls: cfg.tls,
        tls_ca_file: cfg.tls_ca_file.clone(),
        connect_timeout: Duration::from_secs(cfg.connect_timeout_secs.max(1)),
        pool_max: 1,
    }
}

/// Runs one statement (no parameters: DDL, GRANT) and records it for the report.
async fn run(conn: &Conn, sql: String, what: &str, log: &mut Vec<String>) -> StoreResult<()> {
    conn.client.batch_execute(&sql).await.ctx(what)?;
    log.push(sql);
    Ok(())
}

/// Does PUBLIC (every role) hold `privilege` on schema `schema` of the connected database?
async fn public_has(conn: &Conn, schema: &str, privilege: &str) -> StoreResult<bool> {
    let row = conn
        .client
        .query_opt(
            "SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a \
             WHERE n.nspname = $1 AND a.grantee = 0 AND a.privilege_type = $2",
            &[&schema, &privilege],
        )
        .await
        .ctx("reading the schema's privileges")?;
    Ok(row.is_some())
}

/// An existing role, as far as `online init` cares.
struct ExistingRole {
    can_login: bool,
    /// The roles it is a member of (it holds their privileges too).
    member_of: Vec<String>,
}

/// Looks `plan`'s role up; refuses one with attributes fstore's roles must not have, and a
/// missing one whose (stored) password would not be set.
async fn lookup_role(conn: &Conn, plan: &Planned) -> StoreResult<Option<ExistingRole>> {
    let name = &plan.name;
    let found = conn
        .client
        .query_opt(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, \
               ARRAY(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid \
                     WHERE m.member = r.oid ORDER BY 1) \
             FROM pg_roles r WHERE rolname = $1",
            &[name],
        )
        .await
        .ctx("looking up roles")?;
    let Some(row) = found else {
        return match plan.new_password {
            Some(_) => Ok(None),
            None => Err(bad(format!(
                "role `{name}` does not exist, but its credentials are in the secret scope: rerun with --rotate to create it with a new password"
            ))),
        };
    };
    let attributes: Vec<&str> = [
        "SUPERUSER",
        "CREATEROLE",
        "CREATEDB",
        "REPLICATION",
        "BYPASSRLS",
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| row.get::<_, bool>(*i))
    .map(|(_, a)| a)
    .collect();
    if !attributes.is_empty() {
        return Err(bad(format!(
            "role `{name}` already exists with {}: fstore's roles must hold none of these; choose another role name, or run `ALTER ROLE {} NO{}` first",
            attributes.join(", "),
            q(name),
            attributes.join(" NO")
        )));
    }
    Ok(Some(ExistingRole {
        can_login: row.get(5),
        member_of: row.get(6),
    }))
}

impl<'a> Admin<'a> {
    /// Checks the names and passwords, then connects as the administrator to the store's
    /// database, or to a maintenance database when it does not exist yet.
    pub async fn connect(
        cfg: &'a PostgresConfig,
        opts: &InitOptions,
        writer: &Planned,
        reader: &Planned,
    ) -> Result<Self> {
        let invalid = |e: fstore_core::Error| bad(e.to_string());
        fstore_core::ident::validate_database_name(&cfg.database).map_err(invalid)?;
        fstore_core::ident::validate_database_name(&cfg.schema).map_err(invalid)?;
        check_identifier("database", &cfg.database)?;
        check_identifier("schema", &cfg.schema)?;
        check_role("writer role name", &writer.name)?;
        check_role("reader role name", &reader.name)?;
        for p in [writer, reader] {
            if let Some(pw) = &p.new_password {
                check_password(pw.expose_secret())?;
            }
        }
        if writer.name == reader.name {
            return Err(bad("the writer and the reader must be different roles".into()).into());
        }
        if [&writer.name, &reader.name].contains(&&opts.admin_user) {
            return Err(bad(format!(
                "the administrator `{}` cannot also be the writer or the reader: fstore's roles get only the privileges they need",
                opts.admin_user
            ))
            .into());
        }
        let password = opts.admin_password.expose_secret();
        let admin = options(cfg, &cfg.database, &opts.admin_user, password);
        let (conn, on_maintenance) = match connect(&admin).await {
            Ok(conn) => (conn, None),
            Err(e) if e.kind == StoreErrorKind::UnknownDatabase => {
                let mut found = Err(e);
                for db in MAINTENANCE_DATABASES {
                    match connect(&options(cfg, db, &opts.admin_user, password)).await {
                        Ok(conn) => {
                            found = Ok((conn, Some(db)));
                            break;
                        }
                        Err(e) => found = Err(e),
                    }
                }
                found.map_err(|mut e| {
                    e.message.push_str(&format!(
                        " (database `{}` does not exist, and `online init` connects to `postgres` or `template1` to create it)",
                        cfg.database
                    ));
                    e
                })?
            }
            Err(e) => return Err(e.into()),
        };
        // Roles are cluster-wide: an existing role that must not be adopted is refused before
        // anything is stored or changed.
        for plan in [writer, reader] {
            lookup_role(&conn, plan).await?;
        }
        Ok(Self {
            cfg,
            admin,
            conn,
            on_maintenance,
        })
    }

    pub async fn close(self) {
        // Dropping the client ends the connection's task.
        drop(self.conn);
    }

    /// Creates what is missing and grants exactly the privileges of the two roles.
    pub async fn provision(
        &mut self,
        writer: &Planned,
        reader: &Planned,
        report: &mut InitReport,
    ) -> StoreResult<()> {
        let cfg = self.cfg;
        report.database = cfg.database.clone();
        report.schema = Some(cfg.schema.clone());
        if let Some(maintenance) = self.on_maintenance {
            self.create_database(maintenance, report).await?;
        }
        for plan in [writer, reader] {
            self.role(plan, report).await?;
        }
        self.grant(writer, reader, report).await?;
        self.as_writer(writer, reader, report).await
    }

    /// Creates the database from the maintenance database, then connects to it.
    async fn create_database(
        &mut self,
        maintenance: &str,
        report: &mut InitReport,
    ) -> StoreResult<()> {
        let db = &self.cfg.database;
        let exists = self
            .conn
            .client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[db])
            .await
            .ctx("checking the database")?
            .is_some();
        if !exists {
            // UTF-8 with the byte-order ("C") collation: keys compare as the other stores do.
            let sql = format!(
                "CREATE DATABASE {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
                q(db)
            );
            self.conn
                .client
                .batch_execute(&sql)
                .await
                .with_ctx(|| format!("creating database `{db}` (connected to `{maintenance}`)"))?;
            report.provision.database_created = true;
        }
        self.conn = connect(&self.admin).await?;
        self.on_maintenance = None;
        Ok(())
    }

    /// Creates the role with its password, or checks the existing one and sets the new password.
    async fn role(&mut self, plan: &Planned, report: &mut InitReport) -> StoreResult<()> {
        let name = &plan.name;
        // `lookup_role` refuses a missing role without a new password.
        let existing = lookup_role(&self.conn, plan).await?;
        if let (None, Some(p)) = (&existing, &plan.new_password) {
            let sql = format!(
                "CREATE ROLE {} LOGIN {}",
                q(name),
                password_clause(p.expose_secret())?
            );
            self.conn
                .client
                .batch_execute(&sql)
                .await
                .with_ctx(|| format!("creating role `{name}`"))?;
            report.provision.users_created.push(name.clone());
            report.provision.passwords_set.push(name.clone());
            return Ok(());
        }
        let Some(existing) = existing else {
            return Ok(());
        };
        if !existing.member_of.is_empty() {
            report.notes.push(format!(
                "role `{name}` is a member of {}, and so holds their privileges as well",
                existing.member_of.join(", ")
            ));
        }
        if !existing.can_login {
            let sql = format!("ALTER ROLE {} LOGIN", q(name));
            run(
                &self.conn,
                sql,
                "letting a role log in",
                &mut report.provision.grants,
            )
            .await?;
        }
        if let Some(p) = &plan.new_password {
            let sql = format!(
                "ALTER ROLE {} {}",
                q(name),
                password_clause(p.expose_secret())?
            );
            self.conn
                .client
                .batch_execute(&sql)
                .await
                .with_ctx(|| format!("setting the password of role `{name}`"))?;
            report.provision.passwords_set.push(name.clone());
        }
        Ok(())
    }

    /// The database and schema privileges, in one transaction: all of them or none.
    async fn grant(
        &mut self,
        writer: &Planned,
        reader: &Planned,
        report: &mut InitReport,
    ) -> StoreResult<()> {
        let (db, schema) = (q(&self.cfg.database), q(&self.cfg.schema));
        let (w, r) = (q(&writer.name), q(&reader.name));
        let schema_exists = self
            .conn
            .client
            .query_opt(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                &[&self.cfg.schema],
            )
            .await
            .ctx("checking the schema")?
            .is_some();
        let public_exists = self
            .conn
            .client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = 'public'", &[])
            .await
            .ctx("checking the schema")?
            .is_some();

        let log = &mut report.provision.grants;
        let mut done = Vec::new();
        run(
            &self.conn,
            "BEGIN".into(),
            "starting a transaction",
            &mut done,
        )
        .await?;
        let mut statements = vec![
            // PUBLIC's CONNECT and TEMPORARY: only the two roles (and the owner) may connect.
            format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"),
            format!("REVOKE ALL ON DATABASE {db} FROM {w}, {r}"),
            // TEMPORARY: merges stage their rows in temporary tables.
            format!("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {w}"),
            format!("GRANT CONNECT ON DATABASE {db} TO {r}"),
        ];
        if public_exists {
            // PUBLIC may create in `public` up to PostgreSQL 14.
            statements.push("REVOKE CREATE ON SCHEMA public FROM PUBLIC".into());
        }
        if !schema_exists {
            statements.push(format!("CREATE SCHEMA {schema}"));
        }
        statements.extend([
            format!("REVOKE ALL ON SCHEMA {schema} FROM {w}, {r}"),
            format!("GRANT USAGE, CREATE ON SCHEMA {schema} TO {w}"),
            format!("GRANT USAGE ON SCHEMA {schema} TO {r}"),
            // Defence in depth only (a session may turn it off): the privileges are the boundary.
            format!("ALTER ROLE {r} SET default_transaction_read_only = on"),
        ]);
        let mut applied = Vec::new();
        for sql in statements {
            if let Err(e) = run(&self.conn, sql, "granting privileges", &mut applied).await {
                let _ = self.conn.client.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        }
        run(
            &self.conn,
            "COMMIT".into(),
            "committing the privileges",
            &mut done,
        )
        .await?;
        log.extend(applied);
        report.schema_created = !schema_exists;

        let mut open_schemas = Vec::new();
        if public_exists {
            open_schemas.push("public");
        }
        if self.cfg.schema != "public" {
            open_schemas.push(self.cfg.schema.as_str());
        }
        for s in open_schemas {
            if public_has(&self.conn, s, "CREATE").await? {
                report.notes.push(format!(
                    "every role (PUBLIC) may still create objects in schema `{s}` of database `{}`: only its owner can revoke that (`REVOKE CREATE ON SCHEMA {} FROM PUBLIC`)",
                    self.cfg.database,
                    q(s)
                ));
            }
        }
        Ok(())
    }

    /// Connected as the writer: default privileges for its future tables, the bookkeeping
    /// table, and `SELECT` on the tables it already owns (a rerun, a new reader).
    async fn as_writer(
        &mut self,
        writer: &Planned,
        reader: &Planned,
        report: &mut InitReport,
    ) -> StoreResult<()> {
        let cfg = self.cfg;
        let password = writer.password().map(|p| p.expose_secret()).unwrap_or("");
        let conn = connect(&options(cfg, &cfg.database, &writer.name, password))
            .await
            .map_err(|mut e| {
                e.message.push_str(&format!(
                    " (`online init` connects as the writer `{}` to set the default privileges of the tables it will create)",
                    writer.name
                ));
                e
            })?;
        let (schema, r) = (q(&cfg.schema), q(&reader.name));
        let mut applied = Vec::new();
        run(
            &conn,
            "BEGIN".into(),
            "starting a transaction",
            &mut Vec::new(),
        )
        .await?;
        let result = async {
            run(
                &conn,
                format!("ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {r}"),
                "setting the writer's default privileges",
                &mut applied,
            )
            .await?;
            ensure_bookkeeping(&conn.client, &cfg.schema).await?;
            let owned = conn
                .client
                .query(
                    "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) \
                       AND c.relkind IN ('r', 'p') ORDER BY 1",
                    &[&cfg.schema],
                )
                .await
                .ctx("listing the writer's tables")?;
            for row in &owned {
                let table: String = row.get(0);
                let sql = format!("GRANT SELECT ON {} TO {r}", qualified(&cfg.schema, &table));
                conn.client
                    .batch_execute(&sql)
                    .await
                    .with_ctx(|| format!("letting the reader read `{table}`"))?;
            }
            applied.push(format!(
                "GRANT SELECT ON the {} table(s) {} owns in {schema} TO {r}",
                owned.len(),
                q(&writer.name)
            ));
            conn.client
                .batch_execute("COMMIT")
                .await
                .ctx("committing the writer's grants")
        }
        .await;
        if result.is_err() {
            let _ = conn.client.batch_execute("ROLLBACK").await;
        }
        result?;
        let w = q(&writer.name);
        report
            .provision
            .grants
            .extend(applied.into_iter().map(|s| format!("(as {w}) {s}")));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_like_libpq() {
        assert_eq!(quote_literal("abc").unwrap(), "'abc'");
        assert_eq!(quote_literal("it's").unwrap(), "'it''s'");
        assert_eq!(quote_literal(r"a\'b").unwrap(), r" E'a\\''b'");
        assert!(quote_literal("a\0b").is_err());
    }

    #[test]
    fn role_names_are_checked() {
        for ok in ["writer", "fstore_reader", "W1"] {
            check_role("role", ok).unwrap();
        }
        for bad in [
            "",
            "pg_writer",
            "PG_x",
            "1abc",
            "a-b",
            "a\"b",
            &"x".repeat(64),
        ] {
            assert!(check_role("role", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_password_clause_carries_a_verifier_not_the_password() {
        let c = password_clause("Abcdefghijklmnop0123").unwrap();
        assert!(c.starts_with("PASSWORD 'SCRAM-SHA-256$4096:"), "{c}");
        assert!(!c.contains("Abcdefghijklmnop0123"));
    }
}
