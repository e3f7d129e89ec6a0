//! `fstore.toml`: where the offline Delta tables live, which secrets backend holds credentials, and
//! the named online stores. Relative paths are resolved against the directory of the file that
//! names them (or the working directory for the built-in defaults). Parse errors name the file,
//! line and key; unknown keys are errors, so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::secret_prefix::SecretPrefix;

/// Default place for everything the embedded default writes.
pub const DEFAULT_DATA_DIR: &str = "fstore-data";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "FSTORE_CONFIG";
/// Config file looked up in the working directory.
pub const CONFIG_FILE: &str = "fstore.toml";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub offline: OfflineConfig,
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// Raw `[stores.*]` tables; each is checked against its `kind` in [`Config::parse`], so that
    /// errors can name the exact key (serde loses the path inside internally tagged enums).
    #[serde(default, rename = "stores")]
    raw_stores: BTreeMap<String, toml::Table>,
    #[serde(skip)]
    pub stores: BTreeMap<String, StoreConfig>,
    /// The file this came from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineConfig {
    /// A local directory or an `s3://bucket/prefix` URL.
    pub root: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    /// Allow plain HTTP to `endpoint` (local S3-compatible servers).
    pub allow_http: Option<bool>,
    #[serde(default, deserialize_with = "de_opt_prefix")]
    pub credentials_secret_prefix: Option<SecretPrefix>,
    /// Commit even when the S3 service cannot be shown to honour conditional writes: safe only
    /// when a single process ever writes under the root.
    pub allow_unsafe_commits: Option<bool>,
}

impl Default for OfflineConfig {
    fn default() -> Self {
        Self {
            root: format!("./{DEFAULT_DATA_DIR}/offline"),
            region: None,
            endpoint: None,
            allow_http: None,
            credentials_secret_prefix: None,
            allow_unsafe_commits: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SecretsBackend {
    /// An encrypted file.
    #[default]
    Local,
    /// `FSTORE_SECRET_<SCOPE>_<KEY>` environment variables.
    Env,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    #[serde(default)]
    pub backend: SecretsBackend,
    /// Path of the encrypted secrets file for the `local` backend.
    pub path: Option<PathBuf>,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        Self {
            backend: SecretsBackend::Local,
            path: None,
        }
    }
}

/// One named online store, chosen by its `kind` key.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    Sqlite(SqliteConfig),
    Mysql(MysqlConfig),
    Postgres(PostgresConfig),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteConfig {
    pub path: PathBuf,
}

/// TLS to a MySQL store, named after the MySQL client's `--ssl-mode`.
///
/// When a store sets no `tls`, a loopback host (`localhost`, `127.0.0.0/8`, `::1`) gets
/// `preferred` and every other host `verify-identity`: certificates are checked by default
/// wherever the traffic leaves the machine. `preferred` is refused for other hosts, because it
/// falls back to plaintext; plaintext over the network is only ever an explicit `disabled`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plaintext. Accepted for any host, with a warning for a non-loopback one.
    Disabled,
    /// Loopback hosts only: TLS without certificate checks when the server offers it,
    /// plaintext (logged) when it does not.
    Preferred,
    /// TLS or nothing, without certificate checks: encrypts, but does not authenticate the
    /// server (a warning says so for non-loopback hosts).
    Required,
    /// TLS, the certificate chain checked against the trusted roots (the built-in web roots, the
    /// machine's CA store and `tls_ca_file`) and the host name checked against the certificate.
    VerifyIdentity,
}

impl TlsMode {
    /// The mode a store gets when its table sets no `tls`.
    pub fn default_for_host(host: &str) -> Self {
        if is_loopback_host(host) {
            Self::Preferred
        } else {
            Self::VerifyIdentity
        }
    }

    /// The name used in `fstore.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Preferred => "preferred",
            Self::Required => "required",
            Self::VerifyIdentity => "verify-identity",
        }
    }
}

/// `localhost`, an IPv4 address in `127.0.0.0/8`, or `::1` (with or without brackets): traffic
/// to these never leaves the machine.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    pub host: String,
    #[serde(default = "default_mysql_port")]
    pub port: u16,
    #[serde(default = "default_mysql_database", deserialize_with = "de_database")]
    pub database: String,
    #[serde(default, deserialize_with = "de_opt_prefix")]
    pub read_secret_prefix: Option<SecretPrefix>,
    #[serde(default, deserialize_with = "de_opt_prefix")]
    pub write_secret_prefix: Option<SecretPrefix>,
    /// Absent: [`TlsMode::default_for_host`] (filled in by [`Config::parse`]).
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// PEM file of CA certificates trusted besides the built-in web roots and the machine's CA store, e.g. the Amazon RDS
    /// bundle `global-bundle.pem`. Relative paths are resolved against the config file.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Seconds to wait for a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Largest connection pool (serving).
    #[serde(default = "default_pool_max")]
    pub pool_max: usize,
}

/// A PostgreSQL store (`kind = "postgres"`: PostgreSQL 14+, Aurora/RDS PostgreSQL, Lakebase).
/// TLS uses the same modes and defaults as MySQL ([`TlsMode`]): `verify-identity` (libpq's
/// `verify-full`) off loopback unless told otherwise.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    pub host: String,
    #[serde(default = "default_postgres_port")]
    pub port: u16,
    #[serde(default = "default_mysql_database", deserialize_with = "de_database")]
    pub database: String,
    /// The schema holding the online tables and fstore's bookkeeping tables.
    #[serde(default = "default_postgres_schema", deserialize_with = "de_database")]
    pub schema: String,
    #[serde(default, deserialize_with = "de_opt_prefix")]
    pub read_secret_prefix: Option<SecretPrefix>,
    #[serde(default, deserialize_with = "de_opt_prefix")]
    pub write_secret_prefix: Option<SecretPrefix>,
    /// Absent: [`TlsMode::default_for_host`] (filled in by [`Config::parse`]).
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// PEM file of CA certificates trusted besides the built-in web roots and the machine's CA
    /// store (the RDS bundle, say). Relative paths are resolved against the config file.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Seconds to wait for a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Largest connection pool (serving).
    #[serde(default = "default_pool_max")]
    pub pool_max: usize,
}

impl StoreConfig {
    /// The secret prefixes of the read and the write identity (SQLite has none).
    pub fn secret_prefixes(&self) -> (Option<&SecretPrefix>, Option<&SecretPrefix>) {
        match self {
            StoreConfig::Sqlite(_) => (None, None),
            StoreConfig::Mysql(m) => (
                m.read_secret_prefix.as_ref(),
                m.write_secret_prefix.as_ref(),
            ),
            StoreConfig::Postgres(p) => (
                p.read_secret_prefix.as_ref(),
                p.write_secret_prefix.as_ref(),
            ),
        }
    }
}

fn default_postgres_port() -> u16 {
    5432
}
fn default_postgres_schema() -> String {
    "public".into()
}
fn default_mysql_port() -> u16 {
    3306
}
fn default_mysql_database() -> String {
    "feature_store".into()
}
fn default_tls() -> TlsMode {
    // Replaced in `parse_store` by the host's default when the key is absent.
    TlsMode::VerifyIdentity
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_pool_max() -> usize {
    32
}

fn de_opt_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretPrefix>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| SecretPrefix::parse(&s).map_err(serde::de::Error::custom))
        .transpose()
}

fn de_database<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    crate::ident::validate_database_name(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

impl Default for Config {
    fn default() -> Self {
        let mut stores = BTreeMap::new();
        stores.insert(
            "local".to_string(),
            StoreConfig::Sqlite(SqliteConfig {
                path: PathBuf::from(format!("./{DEFAULT_DATA_DIR}/online.db")),
            }),
        );
        Self {
            offline: OfflineConfig::default(),
            secrets: SecretsConfig::default(),
            raw_stores: BTreeMap::new(),
            stores,
            source: None,
        }
    }
}

impl Config {
    /// Parses a config document. `path` is only used in error messages and to resolve relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let config_err = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let de = toml::de::Deserializer::parse(text)
            .map_err(|e| config_err(describe_toml_error(text, &e, None)))?;
        let mut cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            config_err(describe_toml_error(text, e.inner(), Some(&key)))
        })?;
        for (name, table) in std::mem::take(&mut cfg.raw_stores) {
            let store = parse_store(&name, table).map_err(|(key, msg)| {
                let line = locate_key(text, &format!("[stores.{name}]"), &key);
                config_err(match line {
                    Some(l) => format!("line {l}, key `stores.{name}.{key}`: {msg}"),
                    None => format!("key `stores.{name}.{key}`: {msg}"),
                })
            })?;
            cfg.stores.insert(name, store);
        }
        if cfg.stores.is_empty() {
            cfg.stores = Config::default().stores;
        }
        for name in cfg.stores.keys() {
            crate::ident::validate_online_table_name(name).map_err(|_| Error::Config {
                path: path.to_path_buf(),
                message: format!(
                    "store name `{name}` in [stores.{name}] may only hold letters, digits and `_`"
                ),
            })?;
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        cfg.resolve_relative_paths(&base);
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Reads the config file: `explicit` if given, else `$FSTORE_CONFIG`, else `./fstore.toml` if it
    /// exists, else the built-in defaults (the embedded store under `./fstore-data`).
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let from_env = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
        let path = match explicit.map(Path::to_path_buf).or(from_env) {
            Some(p) => p,
            None => {
                let p = PathBuf::from(CONFIG_FILE);
                if !p.exists() {
                    return Ok(Self::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Config {
            path: path.clone(),
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(&text, &path)
    }

    fn resolve_relative_paths(&mut self, base: &Path) {
        let join = |p: &Path| {
            if p.is_relative() {
                base.join(p)
            } else {
                p.to_path_buf()
            }
        };
        if !self.offline.root.contains("://") {
            self.offline.root = join(Path::new(&self.offline.root))
                .to_string_lossy()
                .into_owned();
        }
        if let Some(p) = &self.secrets.path {
            self.secrets.path = Some(join(p));
        }
        for store in self.stores.values_mut() {
            match store {
                StoreConfig::Sqlite(s) => s.path = join(&s.path),
                StoreConfig::Mysql(m) => m.tls_ca_file = m.tls_ca_file.as_deref().map(join),
                StoreConfig::Postgres(p) => p.tls_ca_file = p.tls_ca_file.as_deref().map(join),
            }
        }
    }

    /// Looks up a store by name; `None` picks the only store when there is exactly one.
    pub fn store(&self, name: Option<&str>) -> Result<(String, &StoreConfig)> {
        let known = || {
            let names: Vec<&str> = self.stores.keys().map(String::as_str).collect();
            if names.is_empty() {
                "no stores are configured".to_string()
            } else {
                format!("configured stores: {}", names.join(", "))
            }
        };
        match name {
            Some(n) => self
                .stores
                .get(n)
                .map(|s| (n.to_string(), s))
                .ok_or_else(|| Error::UnknownStore {
                    name: n.to_string(),
                    known: known(),
                }),
            None if self.stores.len() == 1 => {
                let (n, s) = self.stores.iter().next().expect("one store");
                Ok((n.clone(), s))
            }
            None => Err(Error::UnknownStore {
                name: "(none given)".into(),
                known: format!("pass --store; {}", known()),
            }),
        }
    }
}

/// Checks one `[stores.NAME]` table against its `kind`. Errors carry the offending key.
fn parse_store(
    name: &str,
    mut table: toml::Table,
) -> std::result::Result<StoreConfig, (String, String)> {
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => {
            return Err((
                "kind".into(),
                "must be a string: \"mysql\", \"postgres\" or \"sqlite\"".into(),
            ));
        }
        None => {
            return Err((
                "kind".into(),
                format!(
                    "missing; say `kind = \"mysql\"`, `kind = \"postgres\"` or `kind = \"sqlite\"` in [stores.{name}]"
                ),
            ));
        }
    };
    fn typed<T: serde::de::DeserializeOwned>(
        table: toml::Table,
    ) -> std::result::Result<T, (String, String)> {
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let msg = e.inner().message().trim().to_string();
            let mut key = e.path().to_string();
            if let Some(f) = msg
                .strip_prefix("unknown field `")
                .and_then(|r| r.split_once('`'))
                .map(|(f, _)| f)
            {
                key = f.to_string();
            }
            (key, msg)
        })
    }
    match kind.as_str() {
        "sqlite" => typed(table).map(StoreConfig::Sqlite),
        "mysql" => {
            let tls_given = table.contains_key("tls");
            if table.get("tls").and_then(toml::Value::as_str) == Some("verify-ca") {
                return Err((
                    "tls".into(),
                    "`verify-ca` (chain without host name) is not offered: use \"verify-identity\", which checks the chain and that the certificate names `host` (set `host` to a name the certificate holds)".into(),
                ));
            }
            let mut m: MysqlConfig = typed(table)?;
            if !tls_given {
                m.tls = TlsMode::default_for_host(&m.host);
            }
            check_tls(&m.host, m.tls, m.tls_ca_file.is_some())?;
            Ok(StoreConfig::Mysql(m))
        }
        "postgres" => {
            let tls_given = table.contains_key("tls");
            let mut p: PostgresConfig = typed(table)?;
            if !tls_given {
                p.tls = TlsMode::default_for_host(&p.host);
            }
            check_tls(&p.host, p.tls, p.tls_ca_file.is_some())?;
            Ok(StoreConfig::Postgres(p))
        }
        other => Err((
            "kind".into(),
            format!("unknown store kind `{other}`; use \"mysql\", \"postgres\" or \"sqlite\""),
        )),
    }
}

/// Refuses TLS settings that would silently be less safe than they read.
fn check_tls(
    host: &str,
    tls: TlsMode,
    has_ca_file: bool,
) -> std::result::Result<(), (String, String)> {
    if tls == TlsMode::Preferred && !is_loopback_host(host) {
        return Err((
            "tls".into(),
            format!(
                "\"preferred\" falls back to plaintext, so it is only accepted for a loopback host, not `{}`; use \"verify-identity\" (the default; add `tls_ca_file` for a private CA such as the RDS bundle), or \"disabled\" to send credentials and features in plaintext knowingly",
                host
            ),
        ));
    }
    if has_ca_file && tls != TlsMode::VerifyIdentity {
        return Err((
            "tls_ca_file".into(),
            format!(
                "is only used to verify the server's certificate, but tls = \"{}\" does not verify it; set tls = \"verify-identity\" or remove tls_ca_file",
                tls.as_str()
            ),
        ));
    }
    Ok(())
}

/// The 1-based line of `key = …` inside the table whose header is `header`.
fn locate_key(text: &str, header: &str, key: &str) -> Option<usize> {
    let mut inside = false;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            if inside {
                return None;
            }
            inside = t.replace(' ', "") == header;
            if inside && key.is_empty() {
                return Some(i + 1);
            }
            continue;
        }
        if inside
            && let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
    }
    None
}

/// Turns a toml error into "line L, column C, key `a.b`: message". toml points type errors at the
/// enclosing table, so the key's own line is found from the serde path (or the unknown field).
fn describe_toml_error(text: &str, e: &toml::de::Error, path: Option<&str>) -> String {
    let msg = e.message().trim().to_string();
    let unknown = msg
        .strip_prefix("unknown field `")
        .and_then(|r| r.split_once('`'))
        .map(|(f, _)| f.to_string());
    let key_path = match (path.filter(|p| !p.is_empty() && *p != "."), &unknown) {
        (Some(p), Some(f)) => Some(format!("{p}.{f}")),
        (Some(p), None) => Some(p.to_string()),
        (None, Some(f)) => Some(f.clone()),
        (None, None) => None,
    };
    let Some(span) = e.span() else {
        return match key_path {
            Some(k) => format!("key `{k}`: {msg}"),
            None => msg,
        };
    };
    let start = span.start.min(text.len());
    let mut line = text[..start].matches('\n').count() + 1;
    let mut col = text[..start]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        + 1;
    if let Some(leaf) = key_path.as_deref().and_then(|k| k.rsplit('.').next()) {
        // Look for `leaf =` from the reported position to the next table header.
        for (i, l) in text.lines().enumerate().skip(line - 1) {
            let t = l.trim_start();
            if i + 1 > line && t.starts_with('[') {
                break;
            }
            if let Some(rest) = t.strip_prefix(leaf)
                && rest.trim_start().starts_with('=')
            {
                line = i + 1;
                col = l.len() - t.len() + 1;
                break;
            }
        }
    }
    match key_path {
        Some(k) => format!("line {line}, column {col}, key `{k}`: {msg}"),
        None => format!("line {line}, column {col}: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[offline]
root = "./data/offline"

[secrets]
backend = "env"

[stores.aurora]
kind = "mysql"
host = "feature-store.cluster-xxxx.us-east-1.rds.amazonaws.com"
port = 3306
database = "feature_store"
read_secret_prefix  = "aurora_reader/aurora"
write_secret_prefix = "aurora_writer/aurora"
tls = "required"

[stores.local]
kind = "sqlite"
path = "./data/online.db"
"#;

    #[test]
    fn parses_the_product_example() {
        let cfg = Config::parse(EXAMPLE, Path::new("/etc/fstore/fstore.toml")).unwrap();
        assert_eq!(cfg.offline.root, "/etc/fstore/./data/offline");
        assert_eq!(cfg.secrets.backend, SecretsBackend::Env);
        let (_, aurora) = cfg.store(Some("aurora")).unwrap();
        let StoreConfig::Mysql(m) = aurora else {
            panic!("mysql")
        };
        assert_eq!(m.tls, TlsMode::Required);
        assert_eq!(
            m.read_secret_prefix.as_ref().unwrap().scope,
            "aurora_reader"
        );
        assert!(
            cfg.store(None)
                .unwrap_err()
                .to_string()
                .contains("aurora, local")
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let bad = EXAMPLE.replace("port = 3306", "port = \"x\"");
        let e = Config::parse(&bad, Path::new("fstore.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("fstore.toml: line 11"), "{e}");
        assert!(e.contains("key `stores.aurora.port`"), "{e}");

        let bad = EXAMPLE.replace(
            "read_secret_prefix  = \"aurora_reader/aurora\"",
            "read_secret_prefix = \"aurora\"",
        );
        let e = Config::parse(&bad, Path::new("fstore.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 13") && e.contains("<scope>/<prefix>"),
            "{e}"
        );

        let bad = EXAMPLE.replace("tls = \"required\"", "tsl = \"required\"");
        let e = Config::parse(&bad, Path::new("fstore.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 15") && e.contains("tsl"), "{e}");
    }

    #[test]
    fn empty_file_gives_the_embedded_default() {
        let cfg = Config::parse("", Path::new("fstore.toml")).unwrap();
        let (name, store) = cfg.store(None).unwrap();
        assert_eq!(name, "local");
        assert!(matches!(store, StoreConfig::Sqlite(_)));
    }

    fn mysql(extra: &str, host: &str) -> std::result::Result<MysqlConfig, String> {
        let text = format!("[stores.db]\nkind = \"mysql\"\nhost = \"{host}\"\n{extra}");
        match Config::parse(&text, Path::new("/etc/fstore/fstore.toml")) {
            Ok(cfg) => match cfg.store(Some("db")).unwrap().1 {
                StoreConfig::Mysql(m) => Ok(m.clone()),
                _ => panic!("mysql"),
            },
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn tls_verifies_by_default_off_the_machine_and_never_falls_back_silently() {
        // Default: verify-identity for a network host, preferred for loopback.
        let m = mysql("", "db.cluster-x.us-east-1.rds.amazonaws.com").unwrap();
        assert_eq!(m.tls, TlsMode::VerifyIdentity);
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"] {
            assert_eq!(mysql("", host).unwrap().tls, TlsMode::Preferred, "{host}");
        }
        // `preferred` may fall back to plaintext: refused off the machine, naming line and key.
        let e = mysql("tls = \"preferred\"\n", "10.0.0.5").unwrap_err();
        assert!(
            e.contains("line 4") && e.contains("stores.db.tls") && e.contains("disabled"),
            "{e}"
        );
        // Plaintext over the network is an explicit choice; required and verify-identity parse.
        assert_eq!(
            mysql("tls = \"disabled\"\n", "10.0.0.5").unwrap().tls,
            TlsMode::Disabled
        );
        assert_eq!(
            mysql("tls = \"required\"\n", "10.0.0.5").unwrap().tls,
            TlsMode::Required
        );
        let e = mysql("tls = \"verify-ca\"\n", "10.0.0.5").unwrap_err();
        assert!(e.contains("verify-identity"), "{e}");
        let e = mysql("tls = \"prefered\"\n", "10.0.0.5").unwrap_err();
        assert!(e.contains("line 4") && e.contains("prefered"), "{e}");
        // The CA file: resolved against the config's directory; useless without verification.
        let m = mysql(
            "tls_ca_file = \"certs/global-bundle.pem\"\n",
            "db.example.com",
        )
        .unwrap();
        assert_eq!(
            m.tls_ca_file.as_deref(),
            Some(Path::new("/etc/fstore/certs/global-bundle.pem"))
        );
        let e = mysql(
            "tls = \"required\"\ntls_ca_file = \"/ca.pem\"\n",
            "db.example.com",
        )
        .unwrap_err();
        assert!(e.contains("line 5") && e.contains("tls_ca_file"), "{e}");
    }
}
