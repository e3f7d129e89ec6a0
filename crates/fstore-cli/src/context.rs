//! What every command gets: the loaded configuration and how to talk to the user.

use std::io::IsTerminal;

use fstore_core::config::Config;

/// Shared state for one invocation of `fstore`.
pub struct Context {
    pub config: Config,
    /// Standard error is a terminal: show progress bars and prompts.
    pub interactive: bool,
    /// `--quiet`: print only results.
    pub quiet: bool,
}

impl Context {
    pub fn new(config: Config, quiet: bool) -> Self {
        Self {
            config,
            interactive: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// Prints a progress/status line to stderr unless `--quiet`.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}

impl Context {
    /// The offline store named by the configuration (and `--offline-root`).
    pub fn offline(&self) -> anyhow::Result<fstore_offline::OfflineStore> {
        Ok(fstore_publish::stores::open_offline(&self.config)?)
    }
}
