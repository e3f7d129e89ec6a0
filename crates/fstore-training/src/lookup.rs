//! [`FeatureLookup`]: which features of which table a training set joins, and how — Databricks'
//! `FeatureLookup(table_name, lookup_key, feature_names, rename_outputs, timestamp_lookup_key,
//! lookback_window)` — plus its one-line command-line form and lookback durations such as `7d`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use fstore_core::TableName;

use crate::error::{Error, Result};

/// One lookup of a training set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureLookup {
    /// The feature table.
    pub table: TableName,
    /// Spine columns matched **by position** to the table's primary keys (same count, same
    /// types). Empty: the spine columns named like the primary keys.
    pub lookup_key: Vec<String>,
    /// Spine column holding each row's event time. Required for a time-series table (as-of join),
    /// forbidden for any other table (exact join).
    pub timestamp_lookup_key: Option<String>,
    /// Features to join. `None`: every column that is not a primary or timestamp key, in table order.
    pub feature_names: Option<Vec<String>>,
    /// Output names for features: feature name → output column name.
    pub rename: HashMap<String, String>,
    /// As-of joins only: ignore feature rows older than this (`spine_ts - feature_ts <= lookback`).
    /// Zero matches only feature rows at exactly the spine timestamp.
    pub lookback: Option<Duration>,
}

impl FeatureLookup {
    /// A lookup of every feature of `table` by its primary key names.
    pub fn new(table: TableName) -> Self {
        Self {
            table,
            lookup_key: Vec::new(),
            timestamp_lookup_key: None,
            feature_names: None,
            rename: HashMap::new(),
            lookback: None,
        }
    }

    pub fn lookup_key<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.lookup_key = keys.into_iter().map(Into::into).collect();
        self
    }

    pub fn timestamp_lookup_key(mut self, column: impl Into<String>) -> Self {
        self.timestamp_lookup_key = Some(column.into());
        self
    }

    pub fn features<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.feature_names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    pub fn rename(mut self, feature: impl Into<String>, output: impl Into<String>) -> Self {
        self.rename.insert(feature.into(), output.into());
        self
    }

    pub fn lookback(mut self, window: Duration) -> Self {
        self.lookback = Some(window);
        self
    }

    /// The output column name of `feature`.
    pub fn output_name<'a>(&'a self, feature: &'a str) -> &'a str {
        self.rename.get(feature).map_or(feature, String::as_str)
    }
}

/// The options a lookup spec accepts, for error messages.
const OPTIONS: &str = "lookup_key, timestamp_lookup_key, features, rename, lookback";

impl FromStr for FeatureLookup {
    type Err = Error;

    /// Parses `<schema>.<table>[:lookup_key=a,b][:timestamp_lookup_key=ts][:features=x,y]
    /// [:rename=x->out,y->out2][:lookback=7d]`.
    fn from_str(spec: &str) -> Result<Self> {
        let bad = |reason: String| Error::BadLookupSpec {
            spec: spec.to_string(),
            reason,
        };
        let mut parts = spec.split(':');
        let table = parts.next().unwrap_or_default().trim();
        if table.is_empty() {
            return Err(bad(
                "it must start with the feature table, e.g. `default.users:lookup_key=user_id`"
                    .into(),
            ));
        }
        let table = TableName::parse(table).map_err(|e| bad(e.to_string()))?;
        let mut lookup = FeatureLookup::new(table);
        let mut seen: Vec<&str> = Vec::new();
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("`{part}` is not OPTION=VALUE (options: {OPTIONS})")))?;
            let key = key.trim();
            let value = value.trim();
            let canonical = match key {
                "lookup_key" | "key" => "lookup_key",
                "timestamp_lookup_key" | "ts" => "timestamp_lookup_key",
                "features" | "feature_names" => "features",
                "rename" | "rename_outputs" => "rename",
                "lookback" | "lookback_window" => "lookback",
                other => {
                    return Err(bad(format!(
                        "unknown option `{other}` (options: {OPTIONS})"
                    )));
                }
            };
            if seen.contains(&canonical) {
                return Err(bad(format!("`{canonical}` is given twice")));
            }
            seen.push(canonical);
            if value.is_empty() {
                return Err(bad(format!("`{canonical}` has no value")));
            }
            match canonical {
                "lookup_key" => lookup.lookup_key = list(value).map_err(bad)?,
                "timestamp_lookup_key" => lookup.timestamp_lookup_key = Some(value.to_string()),
                "features" => lookup.feature_names = Some(list(value).map_err(bad)?),
                "rename" => {
                    for pair in value.split(',') {
                        let (from, to) = pair
                            .split_once("->")
                            .map(|(f, t)| (f.trim(), t.trim()))
                            .filter(|(f, t)| !f.is_empty() && !t.is_empty())
                            .ok_or_else(|| {
                                bad(format!(
                                    "rename `{pair}` is not FEATURE->OUTPUT (e.g. rename=age->user_age)"
                                ))
                            })?;
                        if lookup.rename.insert(from.into(), to.into()).is_some() {
                            return Err(bad(format!("feature `{from}` is renamed twice")));
                        }
                    }
                }
                "lookback" => {
                    lookup.lookback = Some(
                        parse_duration(value)
                            .map_err(|r| bad(format!("lookback `{value}`: {r}")))?,
                    )
                }
                _ => unreachable!("canonical option names are matched above"),
            }
        }
        Ok(lookup)
    }
}

impl fmt::Display for FeatureLookup {
    /// The spec form, parseable by [`FeatureLookup::from_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.table)?;
        if !self.lookup_key.is_empty() {
            write!(f, ":lookup_key={}", self.lookup_key.join(","))?;
        }
        if let Some(ts) = &self.timestamp_lookup_key {
            write!(f, ":timestamp_lookup_key={ts}")?;
        }
        if let Some(names) = &self.feature_names {
            write!(f, ":features={}", names.join(","))?;
        }
        if !self.rename.is_empty() {
            let mut pairs: Vec<_> = self.rename.iter().collect();
            pairs.sort();
            let pairs: Vec<String> = pairs.iter().map(|(a, b)| format!("{a}->{b}")).collect();
            write!(f, ":rename={}", pairs.join(","))?;
        }
        if let Some(lb) = self.lookback {
            write!(f, ":lookback={}us", lb.as_micros())?;
        }
        Ok(())
    }
}

fn list(value: &str) -> std::result::Result<Vec<String>, String> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    if items.iter().any(String::is_empty) {
        return Err(format!("`{value}` has an empty name in its list"));
    }
    Ok(items)
}

/// Parses a non-negative duration: a number followed by a unit (`w`, `d`, `h`, `m`, `s`, `ms`,
/// `us`), several of them concatenated (`1d12h`), or a plain `0`.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total: u128 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err("it is empty".into());
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err("expected a number followed by a unit: w, d, h, m, s, ms or us (e.g. 7d, 12h, 1d12h)".into());
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| "the number is too large".to_string())?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let micros_per: u128 = match unit {
            "w" => 7 * 86_400_000_000,
            "d" => 86_400_000_000,
            "h" => 3_600_000_000,
            "m" | "min" => 60_000_000,
            "s" => 1_000_000,
            "ms" => 1_000,
            "us" => 1,
            "" => return Err("a unit is missing: w, d, h, m, s, ms or us (e.g. 7d)".into()),
            other => {
                return Err(format!(
                    "unknown unit `{other}`; use w, d, h, m, s, ms or us"
                ));
            }
        };
        total = n
            .checked_mul(micros_per)
            .and_then(|v| total.checked_add(v))
            .ok_or("it is too long")?;
    }
    let micros = u64::try_from(total)
        .ok()
        .filter(|m| i64::try_from(*m).is_ok())
        .ok_or("it is too long")?;
    Ok(Duration::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_spec() {
        let l: FeatureLookup =
            "default.users:lookup_key=user_id:features=age,country:rename=age->user_age"
                .parse()
                .unwrap();
        assert_eq!(l.table.to_string(), "default.users");
        assert_eq!(l.lookup_key, vec!["user_id"]);
        assert_eq!(l.feature_names, Some(vec!["age".into(), "country".into()]));
        assert_eq!(l.output_name("age"), "user_age");
        assert_eq!(l.output_name("country"), "country");
        let l: FeatureLookup =
            "default.trips:lookup_key=a,b:timestamp_lookup_key=event_ts:lookback=7d"
                .parse()
                .unwrap();
        assert_eq!(l.lookup_key, vec!["a", "b"]);
        assert_eq!(l.timestamp_lookup_key.as_deref(), Some("event_ts"));
        assert_eq!(l.lookback, Some(Duration::from_secs(7 * 86_400)));
        let again: FeatureLookup = l.to_string().parse().unwrap();
        assert_eq!(again, l);
        let bare: FeatureLookup = "s.t".parse().unwrap();
        assert_eq!(bare, FeatureLookup::new(TableName::parse("s.t").unwrap()));
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        for (spec, needle) in [
            ("", "must start with the feature table"),
            ("users", "missing the schema part"),
            ("s.t:lookup_key", "is not OPTION=VALUE"),
            ("s.t:colour=red", "unknown option `colour`"),
            ("s.t:lookup_key=a:lookup_key=b", "given twice"),
            ("s.t:features=a,,b", "empty name"),
            ("s.t:rename=a>b", "is not FEATURE->OUTPUT"),
            ("s.t:rename=a->b,a->c", "renamed twice"),
            ("s.t:lookback=7", "unit is missing"),
            ("s.t:lookback=7y", "unknown unit `y`"),
            ("s.t:lookback=-1d", "expected a number"),
            ("s.t:features=", "has no value"),
        ] {
            let e = spec.parse::<FeatureLookup>().unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("1d12h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1us").unwrap(), Duration::from_micros(1));
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
        assert!(parse_duration("99999999999999999999999w").is_err());
    }
}
