//! mysql_async errors → [`StoreError`] with a backend-neutral kind and a message that names the
//! server (`host:port`), the user or database where relevant, what was being done, and the remedy.
//! Never includes a password: the server's own texts never contain one, and we add none.

use mysql_async::{DriverError, IoError};

use crate::error::{StoreError, StoreErrorKind};

/// Where a connection goes: what error messages name.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl Target {
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

// Server error codes (https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html;
// MariaDB shares them).
const ER_CON_COUNT_ERROR: u16 = 1040;
const ER_DBACCESS_DENIED_ERROR: u16 = 1044;
const ER_ACCESS_DENIED_ERROR: u16 = 1045;
const ER_BAD_NULL_ERROR: u16 = 1048;
const ER_BAD_DB_ERROR: u16 = 1049;
const ER_SERVER_SHUTDOWN: u16 = 1053;
const ER_DUP_ENTRY: u16 = 1062;
const ER_HOST_IS_BLOCKED: u16 = 1129;
const ER_HOST_NOT_PRIVILEGED: u16 = 1130;
const ER_TABLEACCESS_DENIED_ERROR: u16 = 1142;
const ER_COLUMNACCESS_DENIED_ERROR: u16 = 1143;
const ER_NO_SUCH_TABLE: u16 = 1146;
const ER_NOT_ALLOWED_COMMAND: u16 = 1148;
const ER_NET_PACKET_TOO_LARGE: u16 = 1153;
const ER_BLOB_KEY_WITHOUT_LENGTH: u16 = 1170;
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_LOCK_DEADLOCK: u16 = 1213;
const ER_USER_LIMIT_REACHED: u16 = 1226;
const ER_SPECIFIC_ACCESS_DENIED_ERROR: u16 = 1227;
const ER_NOT_SUPPORTED_AUTH_MODE: u16 = 1251;
const ER_WARN_DATA_OUT_OF_RANGE: u16 = 1264;
const ER_TRUNCATED_WRONG_VALUE: u16 = 1292;
const ER_OPTION_PREVENTS_STATEMENT: u16 = 1290;
const ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: u16 = 1366;
const ER_PROCACCESS_DENIED_ERROR: u16 = 1370;
const ER_DATA_TOO_LONG: u16 = 1406;
const ER_ACCESS_DENIED_NO_PASSWORD_ERROR: u16 = 1698;
const ER_READ_ONLY_MODE: u16 = 1836;
const ER_CLIENT_LOCAL_FILES_DISABLED: u16 = 3948;
const ER_TOO_LONG_KEY: u16 = 1071;

/// Is this the server refusing `LOAD DATA LOCAL INFILE` (disabled by `local_infile`)?
pub fn is_local_infile_refused(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Server(s) => {
            matches!(
                s.code,
                ER_NOT_ALLOWED_COMMAND | ER_CLIENT_LOCAL_FILES_DISABLED
            )
        }
        _ => false,
    }
}

/// The server error code, if `e` is a server error.
pub fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// Maps a mysql_async error. `context` says what was being done ("creating table `t`").
pub fn map(target: &Target, context: &str, e: mysql_async::Error) -> StoreError {
    let addr = target.addr();
    match e {
        mysql_async::Error::Server(s) => map_server(target, context, s.code, &s.message),
        mysql_async::Error::Io(IoError::Io(io))
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            StoreError::new(
                StoreErrorKind::Connection,
                format!(
                    "TLS with MySQL at {addr} failed ({context}): {io}; check the store's `tls` setting, its `host` (verify-identity needs a name the certificate holds) and the server certificate (verify-identity trusts the built-in web roots, this machine's CA store and the store's `tls_ca_file`)"
                ),
            )
        }
        mysql_async::Error::Io(IoError::Io(io)) => StoreError::new(
            StoreErrorKind::Connection,
            format!(
                "cannot reach MySQL at {addr} ({context}): {io}; check the host and port, that the server is running and that no firewall blocks it"
            ),
        ),
        mysql_async::Error::Io(IoError::Tls(tls)) => StoreError::new(
            StoreErrorKind::Connection,
            format!(
                "TLS with MySQL at {addr} failed ({context}): {tls}; check the store's `tls` setting, its `host` (verify-identity needs a name the certificate holds) and the server certificate (verify-identity trusts the built-in web roots, this machine's CA store and the store's `tls_ca_file`)"
            ),
        ),
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => StoreError::new(
            StoreErrorKind::Connection,
            format!(
                "MySQL at {addr} does not offer TLS, but the store requires it (tls = \"required\" or \"verify-identity\", the default for a host that is not loopback); enable TLS on the server, or set tls = \"disabled\" to send the password and data in plaintext knowingly"
            ),
        ),
        mysql_async::Error::Driver(
            d @ (DriverError::ConnectionClosed
            | DriverError::PoolDisconnected
            | DriverError::PacketOutOfOrder),
        ) => StoreError::new(
            StoreErrorKind::Connection,
            format!("the connection to MySQL at {addr} broke ({context}): {d}"),
        ),
        other => StoreError::new(
            StoreErrorKind::Database,
            format!("MySQL at {addr}: {context}: {other}"),
        ),
    }
}

/// `INSERT` from "INSERT command denied to user 'u'@'h' for table 't'".
fn denied_statement(message: &str) -> Option<&str> {
    let (kind, _) = message.split_once(" command denied")?;
    Some(kind.trim())
}

fn map_server(target: &Target, context: &str, code: u16, message: &str) -> StoreError {
    use StoreErrorKind as K;
    let addr = target.addr();
    let user = &target.user;
    let db = &target.database;
    let (kind, text) = match code {
        ER_ACCESS_DENIED_ERROR
        | ER_ACCESS_DENIED_NO_PASSWORD_ERROR
        | ER_NOT_SUPPORTED_AUTH_MODE => (
            K::AuthFailed,
            format!(
                "MySQL at {addr} rejected user `{user}`: wrong user name or password ({message}); check the credentials in the store's secret prefix"
            ),
        ),
        ER_HOST_NOT_PRIVILEGED => (
            K::PermissionDenied,
            format!(
                "MySQL at {addr} does not let user `{user}` connect from this host ({message}); create the user for this host ('{user}'@'%')"
            ),
        ),
        ER_DBACCESS_DENIED_ERROR => (
            K::PermissionDenied,
            format!(
                "user `{user}` has no access to database `{db}` on {addr} ({message}); grant it, e.g. GRANT SELECT ON `{db}`.* TO '{user}'@'%'"
            ),
        ),
        ER_BAD_DB_ERROR => (
            K::UnknownDatabase,
            format!(
                "database `{db}` does not exist on {addr}; create it with `fstore online init`"
            ),
        ),
        ER_TABLEACCESS_DENIED_ERROR | ER_COLUMNACCESS_DENIED_ERROR | ER_PROCACCESS_DENIED_ERROR => {
            let stmt = denied_statement(message).unwrap_or("this");
            (
                K::PermissionDenied,
                format!(
                    "user `{user}` lacks the {stmt} privilege on database `{db}` at {addr} ({context}): {message}; grant it, e.g. GRANT {stmt} ON `{db}`.* TO '{user}'@'%'"
                ),
            )
        }
        ER_SPECIFIC_ACCESS_DENIED_ERROR => (
            K::PermissionDenied,
            format!("user `{user}` lacks a privilege at {addr} ({context}): {message}"),
        ),
        ER_OPTION_PREVENTS_STATEMENT | ER_READ_ONLY_MODE => (
            K::PermissionDenied,
            format!(
                "MySQL at {addr} refuses writes ({context}): {message}; is this a read replica or an Aurora reader endpoint? Publish through the writer (cluster) endpoint"
            ),
        ),
        ER_NO_SUCH_TABLE => (
            K::MissingTable,
            format!("MySQL at {addr}: {context}: {message}"),
        ),
        ER_CON_COUNT_ERROR | ER_HOST_IS_BLOCKED | ER_USER_LIMIT_REACHED | ER_SERVER_SHUTDOWN => (
            K::Connection,
            format!("MySQL at {addr} refused the connection ({context}): {message}"),
        ),
        ER_DUP_ENTRY
        | ER_BAD_NULL_ERROR
        | ER_DATA_TOO_LONG
        | ER_WARN_DATA_OUT_OF_RANGE
        | ER_TRUNCATED_WRONG_VALUE
        | ER_TRUNCATED_WRONG_VALUE_FOR_FIELD => (
            K::InvalidData,
            format!("MySQL at {addr} rejected the data ({context}): {message}"),
        ),
        ER_BLOB_KEY_WITHOUT_LENGTH | ER_TOO_LONG_KEY => (
            K::InvalidData,
            format!(
                "MySQL at {addr} cannot index the primary key ({context}): {message}; primary keys must be integers, dates, decimals or strings of at most 100 characters, and fit in 3072 bytes"
            ),
        ),
        ER_NET_PACKET_TOO_LARGE => (
            K::Database,
            format!(
                "MySQL at {addr} refused a packet larger than its max_allowed_packet ({context}): {message}; raise max_allowed_packet on the server"
            ),
        ),
        ER_LOCK_WAIT_TIMEOUT | ER_LOCK_DEADLOCK => (
            K::Database,
            format!(
                "MySQL at {addr}: {context}: {message}; another session holds locks on the table, try again"
            ),
        ),
        ER_NOT_ALLOWED_COMMAND | ER_CLIENT_LOCAL_FILES_DISABLED => (
            K::PermissionDenied,
            format!(
                "MySQL at {addr} does not allow LOAD DATA LOCAL INFILE ({context}): {message}; set local_infile=ON on the server or use the INSERT bulk path"
            ),
        ),
        // Client-side codes, in case a proxy reports them as server errors.
        2002 | 2003 | 2005 | 2006 | 2013 | 2055 => (
            K::Connection,
            format!("cannot reach MySQL at {addr} ({context}): {message}"),
        ),
        _ => (
            K::Database,
            format!("MySQL at {addr}: {context}: {message} (error {code})"),
        ),
    };
    StoreError::new(kind, text)
}

/// `.ctx(target, "what")` on mysql_async results.
pub trait Ctx<T> {
    fn ctx(self, target: &Target, context: &str) -> crate::error::Result<T>;
    fn with_ctx(self, target: &Target, context: impl FnOnce() -> String)
    -> crate::error::Result<T>;
}

impl<T> Ctx<T> for mysql_async::Result<T> {
    fn ctx(self, target: &Target, context: &str) -> crate::error::Result<T> {
        self.map_err(|e| map(target, context, e))
    }
    fn with_ctx(
        self,
        target: &Target,
        context: impl FnOnce() -> String,
    ) -> crate::error::Result<T> {
        self.map_err(|e| map(target, &context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            host: "db.example".into(),
            port: 3306,
            database: "feature_store".into(),
            user: "writer".into(),
        }
    }

    fn server(code: u16, message: &str) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: message.into(),
            state: "HY000".into(),
        })
    }

    #[test]
    fn unknown_database_says_how_to_create_it() {
        let e = map(
            &target(),
            "connecting",
            server(1049, "Unknown database 'feature_store'"),
        );
        assert_eq!(e.kind, StoreErrorKind::UnknownDatabase);
        assert_eq!(
            e.message,
            "database `feature_store` does not exist on db.example:3306; create it with `fstore online init`"
        );
    }

    #[test]
    fn auth_and_privilege_errors_name_user_and_statement() {
        let e = map(
            &target(),
            "connecting",
            server(
                1045,
                "Access denied for user 'writer'@'10.0.0.1' (using password: YES)",
            ),
        );
        assert_eq!(e.kind, StoreErrorKind::AuthFailed);
        assert!(
            e.message.contains("rejected user `writer`"),
            "{}",
            e.message
        );
        let e = map(
            &target(),
            "creating table `t`",
            server(
                1142,
                "CREATE command denied to user 'writer'@'localhost' for table `feature_store`.`t`",
            ),
        );
        assert_eq!(e.kind, StoreErrorKind::PermissionDenied);
        assert!(
            e.message.contains("lacks the CREATE privilege"),
            "{}",
            e.message
        );
        let e = map(&target(), "x", server(1146, "Table 'a.b' doesn't exist"));
        assert_eq!(e.kind, StoreErrorKind::MissingTable);
    }

    #[test]
    fn io_errors_are_connection_errors_naming_the_address() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = map(
            &target(),
            "connecting",
            mysql_async::Error::Io(IoError::Io(io)),
        );
        assert_eq!(e.kind, StoreErrorKind::Connection);
        assert!(e.message.contains("db.example:3306"), "{}", e.message);
    }
}
