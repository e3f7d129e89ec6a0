//! The Databricks secret-prefix convention: `<scope>/<prefix>` names the secrets
//! `<prefix>-user` and `<prefix>-password` in scope `<scope>`.

use std::fmt;

use crate::error::{Error, Result};

/// A parsed `<scope>/<prefix>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretPrefix {
    pub scope: String,
    pub prefix: String,
}

impl SecretPrefix {
    /// Parses `<scope>/<prefix>`: exactly two non-empty parts made of letters, digits, `_`, `-`, `.`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidSecretPrefix {
            prefix: s.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() != 2 {
            return Err(bad(&format!(
                "found {} part(s) separated by `/`",
                parts.len()
            )));
        }
        for (what, part) in [("scope", parts[0]), ("prefix", parts[1])] {
            if part.is_empty() {
                return Err(bad(&format!("the {what} is empty")));
            }
            if let Some(c) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            {
                return Err(bad(&format!("the {what} contains `{c}`")));
            }
        }
        Ok(Self {
            scope: parts[0].to_string(),
            prefix: parts[1].to_string(),
        })
    }

    /// The key holding the user name: `<prefix>-user`.
    pub fn user_key(&self) -> String {
        format!("{}-user", self.prefix)
    }

    /// The key holding the password: `<prefix>-password`.
    pub fn password_key(&self) -> String {
        format!("{}-password", self.prefix)
    }

    /// A key with another suffix, e.g. `access-key-id` for object-store credentials.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }
}

impl fmt::Display for SecretPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.scope, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walkthrough_prefix() {
        let p = SecretPrefix::parse("aurora_reader/aurora").unwrap();
        assert_eq!(p.scope, "aurora_reader");
        assert_eq!(p.user_key(), "aurora-user");
        assert_eq!(p.password_key(), "aurora-password");
    }

    #[test]
    fn malformed_prefixes_show_the_expected_form() {
        for bad in ["aurora", "a/b/c", "/x", "x/", "a b/c"] {
            let msg = SecretPrefix::parse(bad).unwrap_err().to_string();
            assert!(msg.contains("<scope>/<prefix>"), "{bad}: {msg}");
        }
    }
}
