//! `fstore online verify`: printing [`fstore_publish::verify`]'s report; exit 1 when the online
//! table differs from the offline version it records.

use fstore_publish::stores::open_reader;
use fstore_publish::verify::{Difference, VerifyOptions, VerifyReport, verify};

use crate::cmd::lookup::LookupFormat;
use crate::context::Context;
use crate::progress::CliProgress;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Online table name.
    pub table: String,
    /// Online store name (default: the only configured store).
    #[arg(long)]
    pub store: Option<String>,
    /// Differences to show as examples (the counts are always complete).
    #[arg(long, default_value_t = fstore_publish::verify::DEFAULT_EXAMPLES, value_name = "N")]
    pub examples: usize,
    /// Online rows read per query.
    #[arg(long, default_value_t = fstore_online::scan::DEFAULT_PAGE_ROWS, value_name = "N", hide = true)]
    pub page_rows: usize,
    /// Output: text for people or one JSON object.
    #[arg(long, value_enum, default_value = "table")]
    pub format: LookupFormat,
    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
}

fn example_line(d: &Difference) -> String {
    let key = d
        .key
        .iter()
        .map(|k| format!("{}={}", k.column, k.value))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = format!("  {:<9} {key}", d.kind.as_str());
    for c in &d.columns {
        s.push_str(&format!(
            "\n            {}: offline {} online {}",
            c.column, c.offline, c.online
        ));
    }
    s
}

fn print_text(r: &VerifyReport) {
    println!("{}", r.summary());
    for n in &r.notes {
        println!("note: {n}");
    }
    if !r.examples.is_empty() {
        let shown = r.examples.len() as u64;
        let total = r.missing + r.extra + r.different;
        println!(
            "{}:",
            if shown < total {
                format!("first {shown} of {total} differences")
            } else {
                "differences".to_string()
            }
        );
        for d in &r.examples {
            println!("{}", example_line(d));
        }
    }
}

pub async fn run(a: VerifyArgs, ctx: &Context) -> anyhow::Result<()> {
    if a.page_rows == 0 {
        anyhow::bail!("--page-rows must be at least 1");
    }
    let offline = ctx.offline()?;
    let (store_name, store) = open_reader(&ctx.config, a.store.as_deref()).await?;
    let opts = VerifyOptions {
        examples: a.examples,
        page_rows: a.page_rows,
    };
    let progress = CliProgress::new(ctx.interactive, ctx.quiet);
    let result = verify(&offline, &store, &a.table, &opts, &progress).await;
    progress.finish();
    let report = result?;
    if a.json || matches!(a.format, LookupFormat::Json) {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    if !report.is_clean() {
        anyhow::bail!(
            "`{}` in {store_name} differs from version {} of {}: {} missing, {} extra, {} different",
            report.online_table,
            report.delta_version,
            report.feature_table,
            report.missing,
            report.extra,
            report.different
        );
    }
    Ok(())
}
