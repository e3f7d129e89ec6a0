//! Duplicate (primary key, timestamp key) detection for writes of any size, in bounded memory.
//!
//! A write may be larger than memory, so the keys are not kept: each row's key is encoded with
//! Arrow's row format and reduced to a 64-bit hash. Hashes are gathered in chunks of
//! [`CHUNK`] (32 MB), each chunk sorted and, when there is more than one, spilled to a temporary
//! file; at the end the sorted chunks are merged and a hash seen twice makes its key a suspect.
//! Suspects (normally none) are then confirmed exactly by a second pass over the input that
//! keeps only the rows whose hash is a suspect, so a hash collision never rejects a good write
//! and the error names the real key and rows, as an in-memory check would.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};

use deltalake::arrow::array::{ArrayRef, RecordBatch};
use deltalake::arrow::row::{OwnedRow, RowConverter, Rows, SortField};

use crate::error::{Error, Result};

/// Hashes kept in memory before a sorted chunk is spilled (8 bytes each: 32 MB).
const CHUNK: usize = 4 << 20;

/// A fixed-seed hasher: both passes of one write must hash a key the same way.
#[derive(Clone, Copy, Default)]
struct FixedState;
impl BuildHasher for FixedState {
    type Hasher = std::hash::DefaultHasher;
    fn build_hasher(&self) -> Self::Hasher {
        std::hash::DefaultHasher::new()
    }
}

/// Collects key hashes of a write, batch by batch.
pub(crate) struct KeyCheck {
    table: String,
    keys: Vec<String>,
    idx: Vec<usize>,
    converter: RowConverter,
    hashes: Vec<u64>,
    spills: Vec<File>,
}

fn io(e: std::io::Error) -> Error {
    Error::Internal(format!(
        "spilling key hashes to a temporary file failed: {e}; check the free space of the temporary directory (TMPDIR)"
    ))
}

pub(crate) fn hash_row(row: &[u8]) -> u64 {
    let mut h = FixedState.build_hasher();
    h.write(row);
    h.finish()
}

impl KeyCheck {
    /// `idx` are the positions of `keys` in the conformed batches; `types` their types.
    pub fn new(
        table: &str,
        keys: Vec<String>,
        idx: Vec<usize>,
        types: Vec<deltalake::arrow::datatypes::DataType>,
    ) -> Result<Self> {
        let converter = RowConverter::new(types.into_iter().map(SortField::new).collect())
            .map_err(Error::arrow("encoding keys"))?;
        Ok(Self {
            table: table.to_string(),
            keys,
            idx,
            converter,
            hashes: Vec::new(),
            spills: Vec::new(),
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Rows> {
        let cols: Vec<ArrayRef> = self.idx.iter().map(|&i| batch.column(i).clone()).collect();
        self.converter
            .convert_columns(&cols)
            .map_err(Error::arrow("encoding keys"))
    }

    /// Adds the keys of one conformed batch (NULL keys were already refused).
    pub fn add(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = self.encode(batch)?;
        for row in rows.iter() {
            self.hashes.push(hash_row(row.as_ref()));
            if self.hashes.len() >= CHUNK {
                self.spill()?;
            }
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        self.hashes.sort_unstable();
        let mut file = tempfile::tempfile().map_err(io)?;
        {
            let mut w = BufWriter::new(&mut file);
            for h in &self.hashes {
                w.write_all(&h.to_le_bytes()).map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        use std::io::Seek;
        file.rewind().map_err(io)?;
        self.spills.push(file);
        self.hashes.clear();
        Ok(())
    }

    /// Hashes seen more than once (suspected duplicate keys).
    pub fn suspects(mut self) -> Result<(Self, HashSet<u64>)> {
        let mut out = HashSet::new();
        if self.spills.is_empty() {
            self.hashes.sort_unstable();
            for w in self.hashes.windows(2) {
                if w[0] == w[1] {
                    out.insert(w[0]);
                }
            }
            self.hashes = Vec::new();
            return Ok((self, out));
        }
        if !self.hashes.is_empty() {
            self.spill()?;
        }
        self.hashes = Vec::new();
        let mut readers: Vec<BufReader<File>> = std::mem::take(&mut self.spills)
            .into_iter()
            .map(BufReader::new)
            .collect();
        let next = |r: &mut BufReader<File>| -> Result<Option<u64>> {
            let mut b = [0u8; 8];
            match r.read_exact(&mut b) {
                Ok(()) => Ok(Some(u64::from_le_bytes(b))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(io(e)),
            }
        };
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(h) = next(r)? {
                heap.push(std::cmp::Reverse((h, i)));
            }
        }
        let mut last: Option<u64> = None;
        while let Some(std::cmp::Reverse((h, i))) = heap.pop() {
            if last == Some(h) {
                out.insert(h);
            }
            last = Some(h);
            if let Some(n) = next(&mut readers[i])? {
                heap.push(std::cmp::Reverse((n, i)));
            }
        }
        Ok((self, out))
    }

    /// Confirms suspects exactly over a second pass of the conformed input (`batches`), and
    /// refuses the write naming the first duplicated key (in the order its second occurrence
    /// appears), up to five of its rows, and how many other keys are duplicated.
    pub fn confirm(
        &self,
        suspects: &HashSet<u64>,
        batches: impl Iterator<Item = Result<RecordBatch>>,
    ) -> Result<()> {
        struct Seen {
            display: String,
            rows: Vec<u64>,
            count: u64,
        }
        let mut seen: HashMap<OwnedRow, Seen> = HashMap::new();
        let mut duplicated: Vec<OwnedRow> = Vec::new();
        let mut offset = 0u64;
        for b in batches {
            let b = b?;
            let rows = self.encode(&b)?;
            for (ri, row) in rows.iter().enumerate() {
                if !suspects.contains(&hash_row(row.as_ref())) {
                    continue;
                }
                let global = offset + ri as u64 + 1;
                match seen.get_mut(&row.owned()) {
                    Some(s) => {
                        s.count += 1;
                        if s.count == 2 {
                            duplicated.push(row.owned());
                        }
                        if s.rows.len() < 5 {
                            s.rows.push(global);
                        }
                    }
                    None => {
                        let display = self
                            .keys
                            .iter()
                            .zip(&self.idx)
                            .map(|(k, &i)| {
                                format!(
                                    "{k}={}",
                                    crate::conform::format_value(b.column(i), ri)
                                        .unwrap_or_default()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ");
                        seen.insert(
                            row.owned(),
                            Seen {
                                display,
                                rows: vec![global],
                                count: 1,
                            },
                        );
                    }
                }
            }
            offset += b.num_rows() as u64;
        }
        let Some(first) = duplicated.first() else {
            return Ok(());
        };
        let s = &seen[first];
        let mut rows = s
            .rows
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if s.count > s.rows.len() as u64 {
            rows.push_str(", …");
        }
        let more = match duplicated.len() - 1 {
            0 => String::new(),
            1 => "; 1 other key is duplicated too".to_string(),
            n => format!("; {n} other keys are duplicated too"),
        };
        Err(Error::DuplicateKey {
            table: self.table.clone(),
            key: if self.keys.len() > 1 {
                format!("({})", s.display)
            } else {
                s.display.clone()
            },
            count: s.count,
            rows,
            more,
        })
    }
}
