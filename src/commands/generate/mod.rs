//! `healthscore generate`: realistic, deterministic synthetic warehouse
//! exports of every input table of SPEC §2, churn labels included.
//!
//! Accounts are generated in chunks of [`CHUNK_ACCOUNTS`]; each chunk gets its
//! own random stream derived from (seed, chunk index), builds its rows as
//! column vectors and encodes them as the next Parquet part of each table.
//! Chunks are generated on a few worker threads and written in chunk order,
//! so memory stays bounded for any number of accounts and the same seed gives
//! byte-identical files whatever the number of cores.
//!
//! Every account has a latent health in [0, 1] that drives its usage,
//! sentiment, tickets, payments and revenue. About a tenth of the accounts
//! churn, on a date within 90 days either side of the as-of date; in the
//! 30-120 days before churning their signals decay (the risk ramps from 0 to 1
//! over that stretch): fewer active days and logins, fewer users and
//! features, more and more urgent support tickets, detractor NPS and low CSAT,
//! rising days past due and contracting MRR. Accounts that churned stop
//! producing events on their churn date. Some healthy accounts go through a
//! temporary dip, so the signals foreshadow churn without giving it away.
//!
//! Awkward cases of real exports are included on purpose: accounts without
//! any usage, null seats, onboarding and signup dates, accounts that sign up
//! after the as-of date, ties (equal MRR values, two revenue rows for the same
//! month, zero-event usage rows) and rows dated after the as-of date in every
//! event table.

use std::fmt::Write as _;

use chrono::NaiveDate;
use polars::prelude::*;
use rand::SeedableRng;

mod buffers;
mod simulate;

use crate::error::{Error, Result};
use crate::output::parquet;
use crate::storage::Store;
use buffers::*;
use simulate::*;

/// Accounts generated (and written as one part of each table) per chunk.
pub const CHUNK_ACCOUNTS: usize = 50_000;

/// A usage part is closed at the first account boundary past this many rows.
const MAX_PART_ROWS: usize = 4_000_000;

/// Days of usage up to and including the as-of date.
pub const USAGE_DAYS: u32 = 120;
/// Days of tickets and surveys up to and including the as-of date.
const EVENT_DAYS: i32 = 365;
/// Days of every event table generated after the as-of date.
const DAYS_AFTER: i32 = 2;

/// The product features besides `login`.
const FEATURES: [&str; 10] = [
    "reports",
    "dashboards",
    "api",
    "export",
    "alerts",
    "integrations",
    "search",
    "billing",
    "admin",
    "mobile",
];

/// The tables written, in this order, each a folder of parts.
const TABLES: [&str; 6] = [
    "accounts",
    "usage",
    "support_tickets",
    "survey_responses",
    "revenue",
    "churn_labels",
];

const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

const NAME_FIRST: [&str; 40] = [
    "Acme",
    "Blue",
    "Bright",
    "Cedar",
    "Copper",
    "Crystal",
    "Delta",
    "Eagle",
    "Echo",
    "Emerald",
    "Falcon",
    "Granite",
    "Harbor",
    "Horizon",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Meridian",
    "Nimbus",
    "Northwind",
    "Oak",
    "Orbit",
    "Pacific",
    "Pinnacle",
    "Quantum",
    "Redwood",
    "River",
    "Sable",
    "Silver",
    "Summit",
    "Terra",
    "Vertex",
    "Willow",
    "Zenith",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Nova",
];

const NAME_SECOND: [&str; 24] = [
    "Analytics",
    "Bakery",
    "Capital",
    "Cloud",
    "Consulting",
    "Dental",
    "Design",
    "Dynamics",
    "Energy",
    "Foods",
    "Freight",
    "Health",
    "Industries",
    "Logistics",
    "Media",
    "Motors",
    "Networks",
    "Partners",
    "Pharma",
    "Retail",
    "Robotics",
    "Software",
    "Studios",
    "Ventures",
];

const NAME_SUFFIX: [&str; 8] = ["Inc", "LLC", "Ltd", "GmbH", "Group", "Co", "SA", "Labs"];

/// Options of `healthscore generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Number of accounts to generate.
    pub accounts: usize,
    /// Seed of the random streams: the same seed gives byte-identical files.
    pub seed: u64,
    /// The as-of date the data is centred on; every event table also holds
    /// rows dated after it.
    pub as_of: NaiveDate,
    /// Days of usage up to and including the as-of date ([`USAGE_DAYS`]
    /// in SPEC §9's workloads; more to backfill a longer history).
    pub usage_days: u32,
}

/// Rows written per table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateReport {
    /// (table name, rows written), in the order the tables are written.
    pub tables: Vec<(String, usize)>,
}

/// Writes synthetic exports of every table under `out`
/// (`accounts/part-00000.parquet`, `usage/part-00000.parquet`, …).
///
/// Part files of an earlier generation that this one did not rewrite are
/// deleted, so the folders hold exactly the generated data.
pub fn generate(opts: &GenerateOptions, out: &Store) -> Result<GenerateReport> {
    let ctx = Ctx::new(opts)?;
    let mut writers: Vec<TableWriter> = TABLES.iter().map(|t| TableWriter::new(t)).collect();
    let chunks = opts.accounts.div_ceil(CHUNK_ACCOUNTS);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(chunks.max(1));
    // Workers generate and encode chunks w, w + workers, …; this thread
    // writes them in chunk order, so part names do not depend on timing.
    // Each worker has at most one finished chunk waiting: memory stays
    // bounded by about 2 × workers chunks.
    std::thread::scope(|scope| -> Result<()> {
        let mut receivers = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<EncodedPart>>>(1);
            receivers.push(rx);
            let ctx = &ctx;
            scope.spawn(move || {
                for chunk in (w..chunks).step_by(workers) {
                    let res = ctx.chunk(opts, chunk);
                    let failed = res.is_err();
                    if tx.send(res).is_err() || failed {
                        break;
                    }
                }
            });
        }
        for chunk in 0..chunks {
            let parts = receivers[chunk % workers]
                .recv()
                .map_err(|_| Error::Internal("a generator thread stopped early".into()))??;
            for part in parts {
                writers[part.table].put(out, part)?;
            }
            let done = ((chunk + 1) * CHUNK_ACCOUNTS).min(opts.accounts);
            tracing::info!(
                stage = "generate",
                chunk,
                accounts = done,
                "generated {done} of {} accounts",
                opts.accounts
            );
        }
        Ok(())
    })?;
    // Empty tables still get one part with the right schema.
    let empty_frames = Buffers::new(0).finish()?;
    for (table, (w, df)) in writers.iter_mut().zip(empty_frames).enumerate() {
        if w.parts == 0 {
            let bytes = parquet::encode(df)?;
            w.put(
                out,
                EncodedPart {
                    table,
                    bytes,
                    rows: 0,
                },
            )?;
        }
    }
    for w in &writers {
        w.remove_stale(out)?;
    }
    Ok(GenerateReport {
        tables: writers
            .iter()
            .map(|w| (w.table.to_string(), w.rows))
            .collect(),
    })
}

/// One encoded part of one table (index into [`TABLES`]).
struct EncodedPart {
    table: usize,
    bytes: bytes::Bytes,
    rows: usize,
}

/// Encodes `df` as a part of `table`; empty frames give no part.
fn encode_part(table: usize, df: DataFrame, parts: &mut Vec<EncodedPart>) -> Result<()> {
    let rows = df.height();
    if rows > 0 {
        parts.push(EncodedPart {
            table,
            bytes: parquet::encode(df)?,
            rows,
        });
    }
    Ok(())
}

/// Parts written so far for one table.
struct TableWriter {
    table: &'static str,
    parts: usize,
    rows: usize,
}

impl TableWriter {
    fn new(table: &'static str) -> Self {
        TableWriter {
            table,
            parts: 0,
            rows: 0,
        }
    }

    fn part_name(&self, index: usize) -> String {
        format!("{}/part-{index:05}.parquet", self.table)
    }

    fn put(&mut self, out: &Store, part: EncodedPart) -> Result<()> {
        out.put(&self.part_name(self.parts), part.bytes)?;
        self.parts += 1;
        self.rows += part.rows;
        Ok(())
    }

    /// Deletes `part-NNNNN.parquet` objects left by an earlier, larger
    /// generation in this table's folder.
    fn remove_stale(&self, out: &Store) -> Result<()> {
        for obj in out.list(self.table)? {
            let file = obj.rel.rsplit('/').next().unwrap_or("");
            let stale = file
                .strip_prefix("part-")
                .and_then(|s| s.strip_suffix(".parquet"))
                .and_then(|s| s.parse::<usize>().ok())
                .is_some_and(|i| i >= self.parts && obj.rel == self.part_name(i));
            if stale {
                out.delete(&obj.rel)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
