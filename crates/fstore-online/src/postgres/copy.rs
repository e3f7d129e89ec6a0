//! PostgreSQL's binary `COPY` format for fstore's cells, and the column types they go into.
//!
//! Owns: the DDL type of each [`FeatureType`], encoding one row of prepared columns
//! ([`crate::arrow_values::Col`]) as a binary `COPY` tuple, the refusal of values PostgreSQL
//! cannot hold (NUL in text, identifiers over 63 bytes), and decoding `numeric` back to fstore's
//! decimal text. Written by hand rather than through `BinaryCopyInWriter`, which encodes through
//! `ToSql` per value and flushes every 4 KiB (rust-postgres issue 1114: ~15x slower).

use fstore_core::FeatureType;

use crate::arrow_values::{Cell, Col, write_decimal};
use crate::error::{Result, StoreError, StoreErrorKind};

/// Signature, flags (no OIDs) and header-extension length.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The field count −1 that ends the data.
pub const TRAILER: &[u8] = &[0xff, 0xff];
/// PostgreSQL silently truncates longer identifiers (NAMEDATALEN − 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;
const NUMERIC_NEG: u16 = 0x4000;

fn invalid(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::InvalidData, message)
}

/// The column type for `ftype`. Key strings compare byte-wise (`COLLATE "C"`, the analogue of
/// MySQL's `utf8mb4_bin`), which also keeps indexes immune to glibc collation changes. Nested
/// values are `json`, not `jsonb`, so the text is stored exactly as the other backends store it.
pub fn pg_type(ftype: FeatureType, is_key: bool) -> String {
    match ftype {
        FeatureType::SmallInt => "smallint".into(),
        FeatureType::Int => "integer".into(),
        FeatureType::BigInt => "bigint".into(),
        FeatureType::Float => "real".into(),
        FeatureType::Double => "double precision".into(),
        FeatureType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
        FeatureType::Boolean => "boolean".into(),
        FeatureType::String if is_key => "text COLLATE \"C\"".into(),
        FeatureType::String => "text".into(),
        FeatureType::Binary => "bytea".into(),
        FeatureType::Date => "date".into(),
        FeatureType::Timestamp => "timestamp with time zone".into(),
        FeatureType::Json => "json".into(),
    }
}

/// Refuses a table or column name PostgreSQL would truncate, before anything is written.
pub fn check_identifier(what: &str, name: &str) -> Result<()> {
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(invalid(format!(
            "{what} `{name}` is {} bytes long; PostgreSQL names hold at most \
             {MAX_IDENTIFIER_BYTES} bytes: choose a shorter name",
            name.len()
        )));
    }
    Ok(())
}

/// One column to encode: its name (for messages), type and prepared values.
pub struct CopyColumn<'a> {
    pub name: &'a str,
    pub ftype: FeatureType,
    pub col: Col<'a>,
}

/// Appends row `row` of `columns` as one binary `COPY` tuple. A NUL character in text is refused
/// with the column and row named (PostgreSQL text cannot hold it).
pub fn encode_row(columns: &[CopyColumn<'_>], row: usize, out: &mut Vec<u8>) -> Result<()> {
    out.extend_from_slice(&(columns.len() as i16).to_be_bytes());
    for c in columns {
        encode_cell(c.name, c.ftype, c.col.cell(row), out)?;
    }
    Ok(())
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn text(column: &str, s: &str, out: &mut Vec<u8>) -> Result<()> {
    if s.as_bytes().contains(&0) {
        return Err(invalid(format!(
            "column `{column}` holds a value with a NUL character (U+0000), which PostgreSQL \
             text cannot store: remove it from the feature table"
        )));
    }
    field(out, s.as_bytes());
    Ok(())
}

/// Appends one field (length + value) of type `ftype`.
pub fn encode_cell(
    column: &str,
    ftype: FeatureType,
    cell: Cell<'_>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mismatch = || {
        invalid(format!(
            "column `{column}`: value {} does not fit its type {ftype:?}",
            cell.describe()
        ))
    };
    match (ftype, cell) {
        (_, Cell::Null) => out.extend_from_slice(&(-1i32).to_be_bytes()),
        (FeatureType::SmallInt, Cell::Int(i)) => field(
            out,
            &i16::try_from(i).map_err(|_| mismatch())?.to_be_bytes(),
        ),
        (FeatureType::Int, Cell::Int(i)) => field(
            out,
            &i32::try_from(i).map_err(|_| mismatch())?.to_be_bytes(),
        ),
        (FeatureType::BigInt, Cell::Int(i)) => field(out, &i.to_be_bytes()),
        (FeatureType::Float, Cell::Float32(f)) => field(out, &f.to_be_bytes()),
        (FeatureType::Double, Cell::Float(f)) => field(out, &f.to_be_bytes()),
        (FeatureType::Double, Cell::Float32(f)) => field(out, &f64::from(f).to_be_bytes()),
        (FeatureType::Decimal { .. }, Cell::Decimal(v, s)) => encode_numeric(v, s, out),
        (FeatureType::Boolean, Cell::Bool(b)) => field(out, &[u8::from(b)]),
        (FeatureType::String, Cell::Str(s)) | (FeatureType::Json, Cell::Json(s)) => {
            text(column, s, out)?
        }
        (FeatureType::Binary, Cell::Bytes(b)) => field(out, b),
        (FeatureType::Date, Cell::Date(d)) => field(out, &(d - PG_EPOCH_DAYS).to_be_bytes()),
        (FeatureType::Timestamp, Cell::Timestamp(us)) => {
            field(out, &(us - PG_EPOCH_MICROS).to_be_bytes())
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// `numeric` in PostgreSQL's canonical binary form: base-10000 digit groups without leading or
/// trailing zero groups, the weight of the first group, the sign and the display scale.
fn encode_numeric(unscaled: i128, scale: i8, out: &mut Vec<u8>) {
    // Negative scales (allowed by Arrow, not produced by Delta) become scale 0.
    let (mag, scale) = if scale < 0 {
        let m = unscaled.unsigned_abs() * 10u128.pow(u32::from(scale.unsigned_abs()));
        (m, 0u32)
    } else {
        (unscaled.unsigned_abs(), scale as u32)
    };
    let digits = mag.to_string();
    let (int_part, frac_part) = if digits.len() as u32 > scale {
        digits.split_at(digits.len() - scale as usize)
    } else {
        ("", digits.as_str())
    };
    let frac = format!("{frac_part:0>width$}", width = scale as usize);
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_digits = format!("{}{int_part}", "0".repeat(int_pad));
    let frac_digits = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
    let group = |s: &str| s.parse::<u16>().unwrap_or(0);
    let mut groups: Vec<u16> = int_digits
        .as_bytes()
        .chunks(4)
        .chain(frac_digits.as_bytes().chunks(4))
        .map(|c| group(std::str::from_utf8(c).unwrap_or("0")))
        .collect();
    let mut weight = (int_digits.len() / 4) as i16 - 1;
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i16;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let negative = unscaled < 0 && !groups.is_empty();
    if groups.is_empty() {
        weight = 0;
    }
    let len = 8 + 2 * groups.len();
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if negative { NUMERIC_NEG } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

/// Decodes a binary `numeric` value into fstore's decimal text at `scale` (what
/// [`write_decimal`] renders for the published value), or `None` for NaN/infinity or a value
/// that does not fit 38 digits.
pub fn decode_numeric(raw: &[u8], scale: i8) -> Option<String> {
    let word = |i: usize| raw.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16;
    let sign = word(4)?;
    if sign != 0 && sign != NUMERIC_NEG {
        return None;
    }
    let scale_u = u32::try_from(scale).ok()?;
    // value = sum(d_i * 10000^(weight - i)); scaled by 10^scale it is an integer.
    let mut unscaled: i128 = 0;
    for i in 0..ndigits {
        let d = i128::from(word(8 + 2 * i)?);
        let exp10 = 4 * (i32::from(weight) - i as i32) + scale_u as i32;
        let term = if exp10 >= 0 {
            d.checked_mul(10i128.checked_pow(exp10 as u32)?)?
        } else {
            // Digits below the display scale: PostgreSQL rounded to the column's scale already.
            let div = 10i128.checked_pow((-exp10) as u32)?;
            if d % div != 0 {
                return None;
            }
            d / div
        };
        unscaled = unscaled.checked_add(term)?;
    }
    if sign == NUMERIC_NEG {
        unscaled = -unscaled;
    }
    let mut out = String::new();
    write_decimal(unscaled, scale, &mut out);
    Some(out)
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
