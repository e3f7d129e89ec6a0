//! One module per top-level command. Each turns its arguments into library calls and prints.

pub mod lookup;
pub mod online;
pub mod online_history;
pub mod online_status;
pub mod online_verify;
pub mod publish;
pub mod quickstart;
pub mod secrets;
pub mod serve;
pub mod tables;
pub mod training_set;
