//! A single online value, as read back from any online store: what lookups return and what the
//! server turns into type-faithful JSON.

/// One feature value. Timestamps are microseconds since the epoch in UTC; dates are days since the
/// epoch; decimals keep their exact text; JSON columns keep their text.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(String),
    String(String),
    Bytes(Vec<u8>),
    Date(i32),
    Timestamp(i64),
    Json(String),
}

impl Value {
    /// Renders the value for humans and CSV-like output (RFC 3339 timestamps, ISO dates).
    pub fn render(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Decimal(s) | Value::String(s) | Value::Json(s) => s.clone(),
            Value::Bytes(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
            Value::Date(d) => date_string(*d),
            Value::Timestamp(us) => timestamp_string(*us),
        }
    }
}

/// `YYYY-MM-DD` for days since 1970-01-01 (proleptic Gregorian).
pub fn date_string(days: i32) -> String {
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for microseconds since the epoch.
pub fn timestamp_string(us: i64) -> String {
    match timestamp_ascii(us) {
        Some(b) => b.iter().map(|&c| char::from(c)).collect(),
        None => timestamp_formatted(us),
    }
}

/// [`timestamp_string`] through `format!`: any year, at several times the cost.
fn timestamp_formatted(us: i64) -> String {
    let (y, m, d, secs, micros) = timestamp_parts(us);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// [`timestamp_string`] as ASCII bytes on the stack, for years 0 to 9999 (`None` outside them:
/// every timestamp Arrow and the online stores carry in practice is inside). Serving writes
/// thousands of timestamps a second; `format!` cost it about 5% of a 100-key lookup's CPU.
pub fn timestamp_ascii(us: i64) -> Option<[u8; 27]> {
    let (y, m, d, secs, micros) = timestamp_parts(us);
    let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    put_digits(&mut b[0..4], y);
    put_digits(&mut b[5..7], m);
    put_digits(&mut b[8..10], d);
    put_digits(&mut b[11..13], (secs / 3600) as u32);
    put_digits(&mut b[14..16], ((secs / 60) % 60) as u32);
    put_digits(&mut b[17..19], (secs % 60) as u32);
    put_digits(&mut b[20..26], micros as u32);
    Some(b)
}

/// (year, month, day, second of the day, microsecond of the second).
fn timestamp_parts(us: i64) -> (i64, u32, u32, i64, i64) {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 1_000_000, rem % 1_000_000)
}

/// Writes `v` in decimal into all of `dst`, zero-padded on the left (high digits dropped).
fn put_digits(dst: &mut [u8], mut v: u32) {
    for slot in dst.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Howard Hinnant's days-to-civil algorithm; exact for the whole i32 day range.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Value {
    /// Parses user text (a `--key` value, a CSV cell) as a value of `ftype`.
    pub fn parse_as(text: &str, ftype: crate::FeatureType) -> std::result::Result<Self, String> {
        use crate::FeatureType as T;
        Ok(match ftype {
            T::SmallInt | T::Int | T::BigInt => Value::Int(
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not an integer"))?,
            ),
            T::Float | T::Double => Value::Float(
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a number"))?,
            ),
            T::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err(format!("`{text}` is not a boolean (true/false)")),
            },
            T::Decimal { .. } => {
                let t = text.trim();
                let ok = !t.is_empty()
                    && t.trim_start_matches(['-', '+']).split_once('.').map_or(
                        t.trim_start_matches(['-', '+'])
                            .chars()
                            .all(|c| c.is_ascii_digit()),
                        |(a, b)| {
                            a.chars().all(|c| c.is_ascii_digit())
                                && b.chars().all(|c| c.is_ascii_digit())
                        },
                    );
                if !ok {
                    return Err(format!("`{text}` is not a decimal number"));
                }
                Value::Decimal(t.to_string())
            }
            T::String => Value::String(text.to_string()),
            T::Json => Value::Json(text.to_string()),
            T::Binary => Value::Bytes(text.as_bytes().to_vec()),
            T::Date => Value::Date(
                parse_date(text.trim())
                    .ok_or_else(|| format!("`{text}` is not a date (YYYY-MM-DD)"))?,
            ),
            T::Timestamp => Value::Timestamp(parse_timestamp(text.trim()).ok_or_else(|| {
                format!("`{text}` is not a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff][Z])")
            })?),
        })
    }
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(s: &str) -> Option<i32> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject dates like 2023-02-30 that normalise to another day.
    (civil_from_days(days) == (y, m, d)).then_some(days as i32)
}

/// Parses `YYYY-MM-DD[T| ]HH:MM:SS[.ffffff][Z|+00:00]` (UTC) into microseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix("+00:00"))
        .unwrap_or(s);
    if s.len() == 10 {
        return parse_date(s).map(|d| d as i64 * 86_400_000_000);
    }
    let (date, time) = s.split_once(['T', ' '])?;
    let days = parse_date(date)? as i64;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut it = hms.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let mi: i64 = it.next()?.parse().ok()?;
    let se: i64 = it.next().unwrap_or("0").parse().ok()?;
    if h > 23 || mi > 59 || se > 60 || frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut micros: i64 = 0;
    for (i, c) in frac.chars().take(6).enumerate() {
        micros += (c as i64 - '0' as i64) * 10_i64.pow(5 - i as u32);
    }
    Some(days * 86_400_000_000 + (h * 3600 + mi * 60 + se) * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_render() {
        assert_eq!(date_string(0), "1970-01-01");
        assert_eq!(date_string(19_723), "2024-01-01");
        assert_eq!(date_string(-1), "1969-12-31");
        assert_eq!(timestamp_string(1_500_000), "1970-01-01T00:00:01.500000Z");
        assert_eq!(timestamp_string(-1), "1969-12-31T23:59:59.999999Z");
        // The stack-buffer path agrees with `format!` wherever it applies, and hands over to
        // it outside years 0..=9999.
        let slow = timestamp_formatted;
        let mut us = -62_167_219_200_000_000i64 - 86_400_000_000; // 31 Dec of year -1
        let last = 253_402_300_800_000_000i64 + 86_400_000_000; // 1 Jan 10000 + 1 day
        let step = 3_141_592_653_589i64; // ~36 days and an odd number of µs
        let mut fast = 0;
        while us <= last {
            assert_eq!(timestamp_string(us), slow(us), "{us}");
            fast += usize::from(timestamp_ascii(us).is_some());
            us += step;
        }
        assert!(fast > 100_000, "{fast}");
        assert_eq!(timestamp_ascii(-62_167_219_200_000_001), None);
        assert_eq!(
            timestamp_string(-62_167_219_200_000_001),
            "-001-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            timestamp_string(253_402_300_800_000_000),
            "10000-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            timestamp_string(253_402_300_799_999_999),
            "9999-12-31T23:59:59.999999Z"
        );
        assert_eq!(timestamp_string(i64::MIN), slow(i64::MIN));
        assert_eq!(timestamp_string(i64::MAX), slow(i64::MAX));
        for d in [-800_000, -1, 0, 59, 60, 19_723, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
