//! [`Secret`]: a string whose value is redacted in `Debug`/`Display`, never serialized, wiped on drop,
//! and readable only through the greppable [`Secret::expose_secret`].

use std::fmt;
use std::io::{self, Read};

use zeroize::{Zeroize, Zeroizing};

/// Largest value [`Secret::from_reader`] accepts.
pub const MAX_VALUE_LEN: usize = 1024 * 1024;

/// A secret value (a password, a token). `Debug` and `Display` print `Secret(***)`; the memory is
/// zeroed when the value is dropped. There is deliberately no `Serialize`, `PartialEq` or `Deref`.
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value. The `String`'s buffer is moved, not copied.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value itself. Every use site is a place where the secret leaves this type: keep them few.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a value from a pipe or file (`fstore secrets put` without a terminal): everything up
    /// to end of input, minus ONE trailing newline (`\n` or `\r\n`). Every intermediate buffer is
    /// wiped. Errors (not UTF-8, longer than [`MAX_VALUE_LEN`]) never include the input.
    pub fn from_reader(mut reader: impl Read) -> io::Result<Self> {
        let mut buf = Zeroizing::new(vec![0u8; 4096]);
        let mut len = 0;
        loop {
            if len == buf.len() {
                if buf.len() > MAX_VALUE_LEN {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the value is longer than {MAX_VALUE_LEN} bytes"),
                    ));
                }
                // Grow by copying into a new buffer so the old one is wiped, not just freed.
                let mut bigger = Zeroizing::new(vec![0u8; buf.len() * 2]);
                bigger[..len].copy_from_slice(&buf[..len]);
                buf = bigger;
            }
            match reader.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if len > MAX_VALUE_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the value is longer than {MAX_VALUE_LEN} bytes"),
            ));
        }
        if buf[..len].ends_with(b"\r\n") {
            len -= 2;
        } else if buf[..len].ends_with(b"\n") {
            len -= 1;
        }
        let mut bytes = std::mem::take(&mut *buf);
        bytes.truncate(len);
        match String::from_utf8(bytes) {
            Ok(s) => Ok(Self::new(s)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the value is not valid UTF-8",
                ))
            }
        }
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "Secret(***)");
        assert_eq!(format!("{s:#?}"), "Secret(***)");
        assert_eq!(s.expose_secret(), "hunter2");
    }

    #[test]
    fn from_reader_strips_one_newline() {
        let read = |b: &[u8]| Secret::from_reader(b).unwrap().expose_secret().to_string();
        assert_eq!(read(b"pw\n"), "pw");
        assert_eq!(read(b"pw\r\n"), "pw");
        assert_eq!(read(b"pw\n\n"), "pw\n");
        assert_eq!(read(b" pw "), " pw ");
        assert_eq!(read(b"\n"), "");
        let long = "x".repeat(10_000);
        assert_eq!(read(long.as_bytes()), long);
        let err = Secret::from_reader(&b"bad\xff-value"[..])
            .unwrap_err()
            .to_string();
        assert!(!err.contains("bad"), "{err}");
        let huge = vec![b'x'; MAX_VALUE_LEN + 1];
        assert!(Secret::from_reader(&huge[..]).is_err());
        let max = vec![b'x'; MAX_VALUE_LEN];
        assert_eq!(
            Secret::from_reader(&max[..]).unwrap().expose_secret().len(),
            MAX_VALUE_LEN
        );
    }
}
