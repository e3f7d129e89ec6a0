//! The test table's rows as a model the tests change at random and the offline table follows:
//! a seeded generator, the row of an id at a round, and one round of changes (merge or
//! overwrite) written through `tables write`.

use std::collections::BTreeMap;

use super::{Project, Row};

/// A small deterministic pseudo-random generator (xorshift), seeded per test run.
/// The state is public so a failing test can print the seed it started from.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self::new(t)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A row for `id` at change `round` (scores never integral, so every writer prints them alike).
pub fn row(id: i64, round: u64) -> Row {
    (
        (id % 13 != 0).then(|| format!("name-{id}-{round}")),
        (id % 17 != 0).then_some((id as f64) * 0.5 + round as f64 + 0.25),
        (id % 19 != 0).then_some(id * 3 + round as i64),
    )
}

/// Changes the model and the offline table: updates and inserts by merge, or (every third round)
/// deletes by overwriting with fewer rows.
pub fn change(p: &Project, model: &mut BTreeMap<i64, Row>, rng: &mut Rng, round: u64) {
    let next_id = model.keys().next_back().map_or(1, |k| k + 1);
    if round % 3 == 2 {
        let ids: Vec<i64> = model.keys().copied().collect();
        for _ in 0..(ids.len() / 50).max(1) {
            let id = ids[rng.below(ids.len() as u64) as usize];
            model.remove(&id);
        }
        p.write_rows(model, false, "overwrite");
    } else {
        let ids: Vec<i64> = model.keys().copied().collect();
        let mut changed = BTreeMap::new();
        for _ in 0..(ids.len() / 20).max(1) {
            let id = ids[rng.below(ids.len() as u64) as usize];
            changed.insert(id, row(id, round));
        }
        for id in next_id..next_id + 50 {
            changed.insert(id, row(id, round));
        }
        model.extend(changed.clone());
        p.write_rows(&changed, false, "merge");
    }
}
