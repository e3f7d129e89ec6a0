//! `fstore lookup`: feature vectors by primary key, with the read identity.

use anyhow::{Context as _, bail};
use fstore_core::{TableName, Value};
use fstore_online::{LookupResult, OnlineReader, PublishedTable};
use fstore_publish::stores::open_reader;

use crate::context::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Feature table name, `<schema>.<table>` (its online table is looked up).
    pub name: TableName,
    /// One key to look up: `col=value`, or `a=1,b=x` for a composite key. Repeat for several keys.
    #[arg(long = "key", required = true, value_name = "COL=VALUE[,...]")]
    pub keys: Vec<String>,
    /// Only these features (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub features: Option<Vec<String>>,
    /// Online store name (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// Online table name if it was published under another name.
    #[arg(long, value_name = "NAME")]
    pub online_table: Option<String>,
    /// Output: a table for people or JSON lines (one object per key).
    #[arg(long, value_enum, default_value = "table")]
    pub format: LookupFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LookupFormat {
    Table,
    Json,
}

pub async fn run(a: Args, ctx: &Context) -> anyhow::Result<()> {
    let (store_name, store) = open_reader(&ctx.config, a.store.as_deref()).await?;
    let table = a
        .online_table
        .clone()
        .unwrap_or_else(|| fstore_publish::default_online_table(&a.name));
    let published = store.describe(&table).await?.with_context(|| {
        format!(
            "`{table}` is not published in store `{store_name}`; run `fstore publish {} --store {store_name}` first",
            a.name
        )
    })?;
    let keys = a
        .keys
        .iter()
        .map(|k| parse_key(k, &published))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let result = store.lookup(&table, &keys, a.features.as_deref()).await?;
    print_result(&a, &published, &keys, &result);
    Ok(())
}

/// Parses `a=1,b=x` into values in primary-key order, typed as the online columns.
pub fn parse_key(text: &str, t: &PublishedTable) -> anyhow::Result<Vec<Value>> {
    let mut vals: Vec<Option<Value>> = vec![None; t.layout.primary_keys.len()];
    for part in text.split(',') {
        let (col, v) = part
            .split_once('=')
            .with_context(|| format!("key `{text}` is not COL=VALUE (e.g. PassengerId=1)"))?;
        let col = col.trim();
        let Some(i) = t.layout.primary_keys.iter().position(|k| k == col) else {
            bail!(
                "`{col}` is not a primary key of `{}`; its keys are: {}",
                t.layout.table,
                t.layout.primary_keys.join(", ")
            );
        };
        let ftype = t
            .layout
            .column(col)
            .map(|c| c.ftype)
            .context("key column missing from layout")?;
        vals[i] = Some(Value::parse_as(v, ftype).map_err(|e| anyhow::anyhow!("key `{col}`: {e}"))?);
    }
    vals.into_iter()
        .zip(&t.layout.primary_keys)
        .map(|(v, k)| v.with_context(|| format!("key `{text}` lacks a value for `{k}`")))
        .collect()
}

fn print_result(a: &Args, t: &PublishedTable, keys: &[Vec<Value>], r: &LookupResult) {
    match a.format {
        LookupFormat::Json => {
            for (key, row) in keys.iter().zip(&r.rows) {
                let mut obj = serde_json::Map::new();
                for (k, v) in t.layout.primary_keys.iter().zip(key) {
                    obj.insert(k.clone(), to_json(v));
                }
                match row {
                    Some(vals) => {
                        for ((name, _), v) in r.columns.iter().zip(vals) {
                            obj.insert(name.clone(), to_json(v));
                        }
                    }
                    None => {
                        for (name, _) in &r.columns {
                            obj.insert(name.clone(), serde_json::Value::Null);
                        }
                    }
                }
                println!("{}", serde_json::Value::Object(obj));
            }
        }
        LookupFormat::Table => {
            for (key, row) in keys.iter().zip(&r.rows) {
                let key_text: Vec<String> = t
                    .layout
                    .primary_keys
                    .iter()
                    .zip(key)
                    .map(|(k, v)| format!("{k}={}", v.render()))
                    .collect();
                match row {
                    None => println!("{}: not found", key_text.join(",")),
                    Some(vals) => {
                        println!("{}:", key_text.join(","));
                        for ((name, ftype), v) in r.columns.iter().zip(vals) {
                            println!("  {name:<20} {:<24} ({ftype})", v.render());
                        }
                    }
                }
            }
        }
    }
}

/// Type-faithful JSON: integers stay integers, timestamps RFC 3339, decimals as strings.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| J::String(s.clone())),
        other => J::String(other.render()),
    }
}
