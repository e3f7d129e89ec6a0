//! `fstore secrets …`: secret scopes (PRODUCT §3). Values are read from a hidden prompt or from
//! stdin, never from an argument, and are never printed; `list` shows key names only.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context as _, bail};
use fstore_core::config::DEFAULT_DATA_DIR;
use fstore_secrets::{Secret, SecretStore, Secrets};

use crate::context::Context;

/// Manage secret scopes: each scope holds keys such as `aurora-user` and `aurora-password`.
#[derive(clap::Subcommand, Debug)]
pub enum SecretsCommand {
    /// Create an empty secret scope (doing it again is harmless).
    #[command(after_help = "Example:\n  fstore secrets create-scope aurora_writer")]
    CreateScope {
        /// Scope name: 1-128 letters, digits, `_`, `-` or `.`.
        scope: String,
    },
    /// Store a secret. The value is read from a hidden prompt on a terminal, or from stdin
    /// otherwise (one trailing newline is dropped); it is never taken as an argument.
    #[command(
        after_help = "Examples:\n  fstore secrets put --scope aurora_writer --key aurora-user\n  \
                            printf %s \"$PASSWORD\" | fstore secrets put --scope aurora_writer --key aurora-password"
    )]
    Put {
        /// Scope to store the secret in (create it first with `create-scope`).
        #[arg(long)]
        scope: String,
        /// Key name, e.g. `aurora-user` or `aurora-password`.
        #[arg(long)]
        key: String,
    },
    /// List the secret scopes.
    #[command(after_help = "Example:\n  fstore secrets list-scopes")]
    ListScopes,
    /// List the keys in a scope (names only, never values).
    #[command(after_help = "Example:\n  fstore secrets list --scope aurora_writer")]
    List {
        /// Scope to list.
        #[arg(long)]
        scope: String,
    },
    /// Delete one secret.
    #[command(
        after_help = "Example:\n  fstore secrets delete --scope aurora_writer --key aurora-password"
    )]
    Delete {
        /// Scope holding the secret.
        #[arg(long)]
        scope: String,
        /// Key to delete.
        #[arg(long)]
        key: String,
    },
    /// Delete a scope and every secret in it.
    #[command(after_help = "Example:\n  fstore secrets delete-scope --scope aurora_writer")]
    DeleteScope {
        /// Scope to delete.
        #[arg(long)]
        scope: String,
    },
}

/// Runs one `fstore secrets` subcommand against the configured backend.
pub fn run(cmd: SecretsCommand, ctx: &Context) -> anyhow::Result<()> {
    let store = Secrets::from_config(&ctx.config.secrets, Path::new(DEFAULT_DATA_DIR))?;
    run_with(cmd, ctx, &store, read_value)
}

/// [`run`] with the store and the value source supplied, so tests need no terminal or stdin.
fn run_with(
    cmd: SecretsCommand,
    ctx: &Context,
    store: &Secrets,
    read: impl FnOnce(&str, &str) -> anyhow::Result<Secret>,
) -> anyhow::Result<()> {
    match cmd {
        SecretsCommand::CreateScope { scope } => {
            if store.create_scope(&scope)? {
                ctx.say(format!("Created scope `{scope}` in {}.", store.describe()));
            } else {
                ctx.say(format!(
                    "Scope `{scope}` already exists in {}.",
                    store.describe()
                ));
            }
        }
        SecretsCommand::Put { scope, key } => {
            // Refuse a bad name, a read-only backend or a missing scope before asking for the value.
            store.check_put(&scope, &key)?;
            let value = read(&scope, &key)?;
            if value.is_empty() {
                bail!("refusing to store an empty value for `{key}` in scope `{scope}`");
            }
            store.put(&scope, &key, value)?;
            ctx.say(format!("Stored `{key}` in scope `{scope}`."));
        }
        SecretsCommand::ListScopes => {
            let scopes = store.list_scopes()?;
            if scopes.is_empty() {
                ctx.say(format!(
                    "No secret scopes in {}; create one with `fstore secrets create-scope <scope>`.",
                    store.describe()
                ));
            }
            for s in scopes {
                println!("{s}");
            }
        }
        SecretsCommand::List { scope } => {
            let keys = store.list(&scope)?;
            if keys.is_empty() {
                ctx.say(format!("Scope `{scope}` has no keys."));
            }
            for k in keys {
                println!("{k}");
            }
        }
        SecretsCommand::Delete { scope, key } => {
            store.delete(&scope, &key)?;
            ctx.say(format!("Deleted `{key}` from scope `{scope}`."));
        }
        SecretsCommand::DeleteScope { scope } => {
            store.delete_scope(&scope)?;
            ctx.say(format!("Deleted scope `{scope}` and its secrets."));
        }
    }
    Ok(())
}

/// The value for `put`: a hidden prompt when stdin is a terminal, else all of stdin minus one
/// trailing newline.
fn read_value(scope: &str, key: &str) -> anyhow::Result<Secret> {
    read_hidden(&format!("Value for `{key}` in scope `{scope}` (hidden): "))
}

/// A secret typed at a hidden prompt on a terminal, else read from stdin (one trailing newline
/// removed). Never from argv.
pub fn read_hidden(prompt: &str) -> anyhow::Result<Secret> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let value = rpassword::prompt_password(prompt)
            .context("cannot read the value from the terminal")?;
        Ok(Secret::new(value))
    } else {
        Secret::from_reader(stdin.lock()).context("cannot read the value from stdin")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use fstore_core::config::{Config, SecretsBackend, SecretsConfig};
    use fstore_secrets::{LocalStore, MasterKey};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: SecretsCommand,
    }

    fn parse(args: &[&str]) -> Result<SecretsCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("secrets").chain(args.iter().copied())).map(|c| c.cmd)
    }

    fn ctx() -> Context {
        Context::new(Config::default(), true)
    }

    #[test]
    fn put_never_takes_the_value_as_an_argument() {
        assert!(parse(&["put", "--scope", "s", "--key", "k"]).is_ok());
        for extra in [
            &["hunter2"][..],
            &["--value", "hunter2"],
            &["--string-value", "hunter2"],
        ] {
            let mut args = vec!["put", "--scope", "s", "--key", "k"];
            args.extend_from_slice(extra);
            assert!(parse(&args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn the_walkthrough_commands_parse() {
        for args in [
            &["create-scope", "aurora_writer"][..],
            &["put", "--scope", "aurora_writer", "--key", "aurora-user"],
            &["list-scopes"],
            &["list", "--scope", "aurora_writer"],
            &["delete", "--scope", "aurora_writer", "--key", "aurora-user"],
            &["delete-scope", "--scope", "aurora_writer"],
        ] {
            parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
    }

    #[test]
    fn put_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Secrets::Local(LocalStore::new(
            dir.path().join("secrets.enc"),
            MasterKey::KeyFile(dir.path().join("secrets.key")),
        ));
        let ctx = ctx();
        let run = |args: &[&str], value: &str| {
            let value = value.to_string();
            run_with(parse(args).unwrap(), &ctx, &store, move |_, _| {
                Ok(Secret::new(value))
            })
        };
        let err = run(
            &["put", "--scope", "aurora_writer", "--key", "aurora-user"],
            "w",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("fstore secrets create-scope aurora_writer"),
            "{err}"
        );
        run(&["create-scope", "aurora_writer"], "").unwrap();
        run(&["create-scope", "aurora_writer"], "").unwrap();
        run(
            &["put", "--scope", "aurora_writer", "--key", "aurora-user"],
            "writer",
        )
        .unwrap();
        let err = run(
            &[
                "put",
                "--scope",
                "aurora_writer",
                "--key",
                "aurora-password",
            ],
            "",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("empty value"), "{err}");
        assert_eq!(store.list("aurora_writer").unwrap(), ["aurora-user"]);
        assert_eq!(
            store
                .get("aurora_writer", "aurora-user")
                .unwrap()
                .expose_secret(),
            "writer"
        );
        run(&["list", "--scope", "aurora_writer"], "").unwrap();
        run(
            &["delete", "--scope", "aurora_writer", "--key", "aurora-user"],
            "",
        )
        .unwrap();
        run(&["delete-scope", "--scope", "aurora_writer"], "").unwrap();
        assert!(store.list_scopes().unwrap().is_empty());
    }

    #[test]
    fn env_backend_refuses_put_before_reading_a_value() {
        let mut config = Config::default();
        config.secrets = SecretsConfig {
            backend: SecretsBackend::Env,
            path: None,
        };
        let ctx = Context::new(config, true);
        let store = Secrets::from_config(&ctx.config.secrets, Path::new("unused")).unwrap();
        let cmd = parse(&["put", "--scope", "aurora_writer", "--key", "aurora-user"]).unwrap();
        let err = run_with(cmd, &ctx, &store, |_, _| panic!("must not ask for a value"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("FSTORE_SECRET_AURORA_WRITER_AURORA_USER"),
            "{err}"
        );
    }
}
