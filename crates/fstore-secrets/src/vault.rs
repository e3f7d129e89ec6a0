//! The plaintext model of the local backend (scopes → keys → values) and its binary encoding. The
//! encoded bytes only ever live in wiped buffers and are encrypted before they touch the disk.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::secret::Secret;

const VERSION: u8 = 1;

/// Every scope with its keys and values.
#[derive(Default)]
pub(crate) struct Vault {
    pub(crate) scopes: BTreeMap<String, BTreeMap<String, Secret>>,
}

impl Vault {
    /// `version u8, nscopes u32, { name, nkeys u32, { key, value } }`; strings are `len u32` + UTF-8,
    /// integers little-endian.
    pub(crate) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut size = 1 + 4;
        for (scope, keys) in &self.scopes {
            size += 4 + scope.len() + 4;
            for (key, value) in keys {
                size += 4 + key.len() + 4 + value.expose_secret().len();
            }
        }
        // Sized up front so the buffer never reallocates and leaves an unwiped copy behind.
        let mut out = Zeroizing::new(Vec::with_capacity(size));
        out.push(VERSION);
        put_u32(&mut out, self.scopes.len());
        for (scope, keys) in &self.scopes {
            put_str(&mut out, scope);
            put_u32(&mut out, keys.len());
            for (key, value) in keys {
                put_str(&mut out, key);
                put_str(&mut out, value.expose_secret());
            }
        }
        debug_assert_eq!(out.len(), size);
        out
    }

    /// The inverse of [`Vault::encode`]. Errors say what is wrong, never what a value was.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.take(1)?[0];
        if version != VERSION {
            return Err(format!("unsupported content version {version}"));
        }
        let mut scopes = BTreeMap::new();
        for _ in 0..r.u32()? {
            let scope = r.str()?.to_owned();
            let mut keys = BTreeMap::new();
            for _ in 0..r.u32()? {
                let key = r.str()?.to_owned();
                let value = Secret::new(r.str()?);
                keys.insert(key, value);
            }
            scopes.insert(scope, keys);
        }
        if r.pos != bytes.len() {
            return Err("trailing bytes after the content".into());
        }
        Ok(Self { scopes })
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("secret store entries are far below 4 GiB");
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or("truncated content")?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn str(&mut self) -> Result<&'a str, String> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| "a name or value is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut v = Vault::default();
        v.scopes.insert("empty".into(), BTreeMap::new());
        let mut keys = BTreeMap::new();
        keys.insert("aurora-user".into(), Secret::from("writer"));
        keys.insert("aurora-password".into(), Secret::from("pä$$ wörd\n"));
        v.scopes.insert("aurora_writer".into(), keys);
        let bytes = v.encode();
        let back = Vault::decode(&bytes).unwrap();
        assert_eq!(back.scopes.len(), 2);
        assert!(back.scopes["empty"].is_empty());
        assert_eq!(
            back.scopes["aurora_writer"]["aurora-password"].expose_secret(),
            "pä$$ wörd\n"
        );
        assert!(Vault::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(Vault::decode(&longer).is_err());
    }
}
