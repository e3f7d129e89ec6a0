//! Integration tests of `fstore serve` (being written).
