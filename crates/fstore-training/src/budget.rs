//! The memory budget of a training set: parsing sizes such as `256MiB`, estimating what a
//! feature table's in-memory index takes, and choosing how many partitions a spilled table gets.

use arrow::array::RecordBatch;

/// The budget unless [`crate::TrainingOptions::memory_limit`] says otherwise.
pub const DEFAULT_MEMORY_LIMIT: usize = 256 * 1024 * 1024;

/// Index bookkeeping per row besides the row's own values: the group number while building, the
/// sorted row number, the timestamp, and the hash map's share (key bytes, box, entry).
const INDEX_BYTES_PER_ROW: usize = 64;

/// What holding `batch` in an index costs: its values twice (the batches read and the one
/// batch they are gathered into exist together while the index is built) plus bookkeeping.
pub(crate) fn index_bytes(batch: &RecordBatch) -> usize {
    2 * batch.get_array_memory_size() + INDEX_BYTES_PER_ROW * batch.num_rows()
}

/// Partitions for a table estimated at `total` index bytes, so one partition's index takes at
/// most `per_partition` bytes; at least 2, at most `max`.
pub(crate) fn partition_count(total: u64, per_partition: usize, max: usize) -> usize {
    let per = per_partition.max(1) as u64;
    let n = total.div_ceil(per);
    usize::try_from(n).unwrap_or(max).clamp(2, max)
}

/// Parses a byte size: a number with an optional unit `B`, `KB`/`KiB`/`K`, `MB`/`MiB`/`M`,
/// `GB`/`GiB`/`G`, `TB`/`TiB`/`T` (binary multiples whichever spelling; case-insensitive).
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    if number.is_empty() {
        return Err(format!(
            "`{s}` is not a size: give a number with a unit, e.g. 256MiB or 2GiB"
        ));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size: `{number}` is not a number"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}`; use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > usize::MAX as f64 {
        return Err(format!("`{s}` is out of range: give at least 1 byte"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("256mb").unwrap(), 256 << 20);
        assert_eq!(parse_size("1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size(" 64 KiB ").unwrap(), 64 << 10);
        for bad in ["", "MiB", "12XB", "0", "-1MiB", "1..2M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_count(0, 100, 128), 2);
        assert_eq!(partition_count(1_000, 100, 128), 10);
        assert_eq!(partition_count(1_001, 100, 128), 11);
        assert_eq!(partition_count(u64::MAX, 1, 128), 128);
    }
}
