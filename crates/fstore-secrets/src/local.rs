//! The `local` backend: every scope in one file encrypted with XChaCha20-Poly1305.
//!
//! File layout (all of the header is authenticated as associated data):
//!
//! ```text
//! 0..8    magic  b"FSTSEC\0\x01"
//! 8..20   Argon2id m_cost (KiB), t_cost, p_cost, u32 little-endian each
//! 20..36  Argon2id salt (random, fixed when the file is created)
//! 36..60  XChaCha20 nonce (random, new on every save)
//! 60..    ciphertext of the encoded scopes, followed by the 16-byte Poly1305 tag
//! ```
//!
//! The 32-byte key is either Argon2id(`FSTORE_MASTER_KEY`, salt) or the 32 random bytes of a key
//! file (default: `secrets.key` beside `secrets.enc`) created with mode 0600 on the first write.
//! Writes take an exclusive lock on `<file>.lock`, read the current file, change it, write a
//! temporary file and rename it over the old one, so concurrent writers never lose each other's
//! changes and readers (which take no lock) always see a complete file.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::vault::Vault;
use crate::{SecretStore, validate_name};

/// Name of the secrets file inside the data directory.
pub const DEFAULT_FILE_NAME: &str = "secrets.enc";
/// Environment variable holding the master passphrase.
pub const MASTER_KEY_ENV: &str = "FSTORE_MASTER_KEY";

const MAGIC: &[u8; 8] = b"FSTSEC\0\x01";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 8 + 12 + SALT_LEN + NONCE_LEN;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// Argon2id cost for new files: the OWASP recommendation (19 MiB, 2 passes, 1 lane).
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// Upper bounds accepted when reading a header, so a modified file cannot demand absurd work.
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Where the encryption key comes from.
pub enum MasterKey {
    /// A passphrase (the value of `FSTORE_MASTER_KEY`), stretched with Argon2id and the file's salt.
    Passphrase(Secret),
    /// A file holding 32 random bytes, created with mode 0600 on the first write.
    KeyFile(PathBuf),
}

impl MasterKey {
    /// `FSTORE_MASTER_KEY` if it is set, else the key file beside `secrets_path`.
    pub fn from_env(secrets_path: &Path) -> Result<Self> {
        match std::env::var_os(MASTER_KEY_ENV) {
            None => Ok(Self::KeyFile(Self::default_key_file(secrets_path))),
            Some(v) => {
                let v = v.into_string().map_err(|_| Error::MasterKey {
                    reason: "is not valid UTF-8",
                })?;
                let v = Secret::new(v);
                if v.is_empty() {
                    return Err(Error::MasterKey {
                        reason: "is set but empty; unset it to use the key file instead",
                    });
                }
                Ok(Self::Passphrase(v))
            }
        }
    }

    /// The key file beside a secrets file: `secrets.enc` → `secrets.key`.
    pub fn default_key_file(secrets_path: &Path) -> PathBuf {
        let p = secrets_path.with_extension("key");
        if p == secrets_path {
            let mut s = p.into_os_string();
            s.push(".key");
            PathBuf::from(s)
        } else {
            p
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Passphrase(_) => MASTER_KEY_ENV.to_string(),
            Self::KeyFile(p) => format!("key file {} ({MASTER_KEY_ENV} is not set)", p.display()),
        }
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase(_) => f.write_str("MasterKey::Passphrase(***)"),
            Self::KeyFile(p) => f.debug_tuple("MasterKey::KeyFile").field(p).finish(),
        }
    }
}

/// The KDF parameters and salt of one file.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KdfParams {
    m: u32,
    t: u32,
    p: u32,
    salt: [u8; SALT_LEN],
}

/// The encrypted-file store.
pub struct LocalStore {
    path: PathBuf,
    key: MasterKey,
    /// The last Argon2id result, so a process derives the key once per file rather than per call.
    derived: Mutex<Option<(KdfParams, Zeroizing<[u8; KEY_LEN]>)>>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("path", &self.path)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// A store backed by the file at `path` (created on the first write).
    pub fn new(path: impl Into<PathBuf>, key: MasterKey) -> Self {
        Self {
            path: path.into(),
            key,
            derived: Mutex::new(None),
        }
    }

    /// The secrets file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the key comes from, e.g. `FSTORE_MASTER_KEY` or `key file ./fstore-data/secrets.key`.
    pub fn key_source(&self) -> String {
        self.key.describe()
    }

    fn location(&self) -> String {
        format!("secrets file {}", self.path.display())
    }

    fn lock_path(&self) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(".lock");
        PathBuf::from(s)
    }

    /// Reads and decrypts the file; a missing file is an empty store.
    fn load(&self) -> Result<(Vault, Option<KdfParams>)> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok((Vault::default(), None)),
            Err(e) => return Err(Error::io("read", &self.path)(e)),
        };
        let corrupt = |reason: &str| Error::Corrupt {
            path: self.path.clone(),
            reason: reason.to_string(),
        };
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(corrupt("it is too short"));
        }
        if &bytes[..8] != MAGIC {
            return Err(corrupt("it does not start with the fstore secrets header"));
        }
        let u = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&bytes[20..20 + SALT_LEN]);
        let params = KdfParams {
            m: u(8),
            t: u(12),
            p: u(16),
            salt,
        };
        if params.m > MAX_M_COST_KIB || params.t > MAX_T_COST || params.p > MAX_P_COST {
            return Err(corrupt("its key-derivation parameters are out of range"));
        }
        let key = self.key_bytes(&params, false)?;
        let nonce = XNonce::from_slice(&bytes[36..HEADER_LEN]);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&key[..]));
        let plain = cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &bytes[..HEADER_LEN],
                },
            )
            .map_err(|_| Error::Decrypt {
                path: self.path.clone(),
                key_source: self.key.describe(),
            })?;
        let plain = Zeroizing::new(plain);
        let vault = Vault::decode(&plain).map_err(|r| corrupt(&r))?;
        Ok((vault, Some(params)))
    }

    /// The 32-byte key for a file with these parameters. `create` makes a missing key file.
    fn key_bytes(&self, params: &KdfParams, create: bool) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        match &self.key {
            MasterKey::KeyFile(path) => read_or_create_key_file(path, create),
            MasterKey::Passphrase(pass) => {
                let mut cache = self.derived.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((p, k)) = cache.as_ref()
                    && p == params
                {
                    return Ok(k.clone());
                }
                let argon = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    argon2::Params::new(params.m, params.t, params.p, Some(KEY_LEN)).map_err(
                        |_| Error::Corrupt {
                            path: self.path.clone(),
                            reason: "its key-derivation parameters are invalid".into(),
                        },
                    )?,
                );
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                argon
                    .hash_password_into(pass.expose_secret().as_bytes(), &params.salt, &mut key[..])
                    .map_err(|e| Error::Crypto(format!("key derivation failed: {e}")))?;
                *cache = Some((*params, key.clone()));
                Ok(key)
            }
        }
    }

    /// Encrypts and atomically replaces the file. Call only while holding the write lock.
    fn save(&self, vault: &Vault, params: Option<KdfParams>) -> Result<()> {
        let params = match params {
            Some(p) => p,
            None => {
                let mut salt = [0u8; SALT_LEN];
                random(&mut salt)?;
                KdfParams {
                    m: M_COST_KIB,
                    t: T_COST,
                    p: P_COST,
                    salt,
                }
            }
        };
        let key = self.key_bytes(&params, true)?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        for n in [params.m, params.t, params.p] {
            header.extend_from_slice(&n.to_le_bytes());
        }
        header.extend_from_slice(&params.salt);
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        header.extend_from_slice(&nonce);
        let plain = vault.encode();
        let cipher = XChaCha20Poly1305::new(Key::from_slice(&key[..]));
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &header,
                },
            )
            .map_err(|_| Error::Crypto("XChaCha20-Poly1305 refused the input".into()))?;
        header.extend_from_slice(&sealed);
        write_atomically(&self.path, &header)
    }

    /// Runs `f` on the current contents under the exclusive lock and saves the result if `f` succeeds.
    fn modify<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        if let Some(dir) = parent_dir(&self.path) {
            fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        }
        let lock_path = self.lock_path();
        let lock = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(Error::io("open lock file", &lock_path))?;
        lock.lock().map_err(Error::io("lock", &lock_path))?;
        let (mut vault, params) = self.load()?;
        let out = f(&mut vault)?;
        self.save(&vault, params)?;
        drop(lock);
        Ok(out)
    }

    fn missing_scope(&self, scope: &str, key: Option<&str>) -> Error {
        Error::MissingScope {
            scope: scope.to_string(),
            key: key.map(str::to_string),
            location: self.location(),
        }
    }

    fn missing_key(&self, scope: &str, key: &str) -> Error {
        Error::MissingKey {
            scope: scope.to_string(),
            key: key.to_string(),
            location: self.location(),
        }
    }
}

impl SecretStore for LocalStore {
    fn create_scope(&self, scope: &str) -> Result<bool> {
        validate_name("scope", scope)?;
        self.modify(|v| {
            if v.scopes.contains_key(scope) {
                return Ok(false);
            }
            v.scopes.insert(scope.to_string(), Default::default());
            Ok(true)
        })
    }

    fn put(&self, scope: &str, key: &str, value: Secret) -> Result<()> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        if value.is_empty() {
            return Err(Error::EmptyValue {
                scope: scope.to_string(),
                key: key.to_string(),
            });
        }
        self.modify(|v| {
            let keys = v
                .scopes
                .get_mut(scope)
                .ok_or_else(|| self.missing_scope(scope, Some(key)))?;
            keys.insert(key.to_string(), value);
            Ok(())
        })
    }

    fn get(&self, scope: &str, key: &str) -> Result<Secret> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        let (mut v, _) = self.load()?;
        let keys = v
            .scopes
            .get_mut(scope)
            .ok_or_else(|| self.missing_scope(scope, Some(key)))?;
        keys.remove(key).ok_or_else(|| self.missing_key(scope, key))
    }

    fn list_scopes(&self) -> Result<Vec<String>> {
        let (v, _) = self.load()?;
        Ok(v.scopes.keys().cloned().collect())
    }

    fn list(&self, scope: &str) -> Result<Vec<String>> {
        validate_name("scope", scope)?;
        let (v, _) = self.load()?;
        let keys = v
            .scopes
            .get(scope)
            .ok_or_else(|| self.missing_scope(scope, None))?;
        Ok(keys.keys().cloned().collect())
    }

    fn delete(&self, scope: &str, key: &str) -> Result<()> {
        validate_name("scope", scope)?;
        validate_name("key", key)?;
        self.modify(|v| {
            let keys = v
                .scopes
                .get_mut(scope)
                .ok_or_else(|| self.missing_scope(scope, None))?;
            keys.remove(key)
                .map(drop)
                .ok_or_else(|| self.missing_key(scope, key))
        })
    }

    fn delete_scope(&self, scope: &str) -> Result<()> {
        validate_name("scope", scope)?;
        self.modify(|v| {
            v.scopes
                .remove(scope)
                .map(drop)
                .ok_or_else(|| self.missing_scope(scope, None))
        })
    }
}

fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Crypto(format!("no randomness from the OS: {e}")))
}

fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

/// Options that create files readable by the owner only (mode 0600 on Unix).
fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Reads the 32-byte key file, creating it (mode 0600, random bytes) if `create` and it is missing.
fn read_or_create_key_file(path: &Path, create: bool) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let bad = |reason: String| Error::KeyFile {
        path: path.to_path_buf(),
        reason,
    };
    match File::open(path) {
        Ok(mut f) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = f
                    .metadata()
                    .map_err(Error::io("inspect", path))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(bad(format!(
                        "is accessible to group or others (mode {:o}); run `chmod 600 {}`",
                        mode & 0o777,
                        path.display()
                    )));
                }
            }
            let mut buf = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
            f.read_to_end(&mut buf).map_err(Error::io("read", path))?;
            if buf.len() != KEY_LEN {
                return Err(bad(format!(
                    "must hold exactly {KEY_LEN} bytes, found {}",
                    buf.len()
                )));
            }
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            key.copy_from_slice(&buf);
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::NotFound && create => {
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            random(&mut key[..])?;
            let mut f = private_options()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(Error::io("create key file", path))?;
            f.write_all(&key[..]).map_err(Error::io("write", path))?;
            f.sync_all().map_err(Error::io("sync", path))?;
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Err(bad(format!(
            "is missing, so the secrets cannot be decrypted; restore it, or set {MASTER_KEY_ENV} if the secrets were stored with it"
        ))),
        Err(e) => Err(Error::io("read", path)(e)),
    }
}

/// Writes `bytes` to a fresh temporary file beside `path` and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    let mut suffix = [0u8; 8];
    random(&mut suffix)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:016x}",
        std::process::id(),
        u64::from_le_bytes(suffix)
    ));
    let result = (|| {
        let mut f = private_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(Error::io("create", &tmp))?;
        f.write_all(bytes).map_err(Error::io("write", &tmp))?;
        f.sync_all().map_err(Error::io("sync", &tmp))?;
        fs::rename(&tmp, path).map_err(Error::io("replace", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; not every platform can open a directory, so this is best-effort.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
