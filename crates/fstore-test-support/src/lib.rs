//! What every crate's tests need to talk to the real test servers, in one place: the servers'
//! URLs (`FSTORE_TEST_MYSQL_URL`, `FSTORE_TEST_PG_URL`), a database name of each test's own, and
//! admin connections that fail the test with instructions when a server is unreachable (tests
//! never skip). A dev-dependency only; nothing here is part of fstore.

pub mod mysql;
pub mod pg;

/// 32-bit FNV-1a: short, stable database names from test names.
pub fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The running test's name (the test harness names each test's thread after it), or the
/// process id when the thread has no name.
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("pid{}", std::process::id()))
}

/// The database name of test `test` of suite `scope`: `fstore_t_<8 hex digits>`. The scope (the
/// crate, say) keeps tests of the same name in different crates, which run at the same time
/// under nextest, apart.
pub fn db_name(scope: &str, test: &str) -> String {
    format!("fstore_t_{:08x}", fnv(&format!("{scope}::{test}")))
}

/// A test server's address and credentials, from its URL (`scheme://user[:password]@host:port`).
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Server {
    fn parse(var: &str, text: &str, default_user: &str, default_port: u16) -> Server {
        let u = url::Url::parse(text)
            .unwrap_or_else(|e| panic!("{var} must be a URL like scheme://user@host:port ({e})"));
        let user = match u.username() {
            "" => default_user.to_string(),
            s => decode(s),
        };
        Server {
            host: u.host_str().unwrap_or("127.0.0.1").to_string(),
            port: u.port().unwrap_or(default_port),
            user,
            password: u.password().map(decode).unwrap_or_default(),
        }
    }
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}
