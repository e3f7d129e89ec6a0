//! Request bodies and their decoding. Decoding never panics: any byte string either becomes a
//! request or a [`ServeError`] of kind `MalformedJson` with serde's message (which says where).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value as J};

use crate::error::{ErrorKind, ServeError};

/// `POST /v1/feature-tables/{name}/lookup`:
/// `{"keys": [{"PassengerId": 1}, ...], "features": ["Age", ...]}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableLookupRequest {
    /// One object per key: primary-key column → value.
    pub keys: Vec<Map<String, J>>,
    /// Features to return (default: every non-key column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

/// `POST /v1/feature-vectors/lookup`:
/// `{"rows": [{"user_id": 1, "driver": 7}], "lookups": [{"table": "default.users", ...}]}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorLookupRequest {
    /// Input rows; each comes back merged with the looked-up features.
    pub rows: Vec<Map<String, J>>,
    /// The feature tables to look up, like Databricks' `FeatureLookup`.
    pub lookups: Vec<FeatureLookup>,
}

/// One table of a vector lookup.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureLookup {
    /// `<schema>.<table>` or an online table name.
    pub table: String,
    /// Row fields holding the key, mapped to the table's primary keys by position. A single
    /// string is accepted for a one-column key.
    #[serde(deserialize_with = "one_or_many")]
    pub lookup_key: Vec<String>,
    /// Features to return (default: every non-key column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Output names: feature → name in the merged row.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rename: BTreeMap<String, String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a column name or a list of column names")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = a.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// Decodes a JSON request body.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServeError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "request body does not have the expected shape",
            serde_json::error::Category::Io
            | serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof => "request body is not valid JSON",
        };
        ServeError::new(ErrorKind::MalformedJson, format!("{what}: {e}"))
    })
}

/// `s` cut to at most 64 characters for an error message (names come from the request).
pub fn shorten(s: &str) -> String {
    match s.char_indices().nth(64) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_requests_and_explains_bad_ones() {
        let r: TableLookupRequest = decode(br#"{"keys":[{"id":1}],"features":["a"]}"#).unwrap();
        assert_eq!(r.keys.len(), 1);
        assert_eq!(r.features.as_deref(), Some(&["a".to_string()][..]));
        let v: VectorLookupRequest = decode(
            br#"{"rows":[{"u":1}],"lookups":[{"table":"s.t","lookup_key":"u"},{"table":"t","lookup_key":["a","b"],"rename":{"x":"y"}}]}"#,
        )
        .unwrap();
        assert_eq!(v.lookups[0].lookup_key, ["u"]);
        assert_eq!(v.lookups[1].lookup_key, ["a", "b"]);
        assert_eq!(v.lookups[1].rename["x"], "y");

        let e = decode::<TableLookupRequest>(b"{").unwrap_err();
        assert_eq!(e.kind, ErrorKind::MalformedJson);
        assert!(
            e.message.starts_with("request body is not valid JSON"),
            "{e}"
        );
        let e = decode::<TableLookupRequest>(br#"{"key":[]}"#).unwrap_err();
        assert!(e.message.contains("unknown field `key`"), "{e}");
        let e = decode::<VectorLookupRequest>(
            br#"{"rows":[],"lookups":[{"table":"t","lookup_key":1}]}"#,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("a column name or a list of column names"),
            "{e}"
        );
        assert_eq!(shorten(&"é".repeat(100)).chars().count(), 65);
    }
}
