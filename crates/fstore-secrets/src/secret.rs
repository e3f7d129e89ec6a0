//! [`Secret`]: a string whose value is redacted in `Debug`/`Display`, never serialized, wiped on drop,
//! and readable only through the greppable [`Secret::expose_secret`].

use std::fmt;

use zeroize::Zeroizing;

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
}
