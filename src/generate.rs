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

use chrono::{Datelike, Months, NaiveDate};
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::parquet_file;
use crate::storage::Store;

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
            let bytes = parquet_file::encode(df)?;
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
            bytes: parquet_file::encode(df)?,
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

fn polars_err(e: PolarsError) -> Error {
    Error::polars("building generated data", e)
}

fn date_col(name: &str, v: Vec<i32>) -> Column {
    Int32Chunked::from_vec(name.into(), v)
        .into_date()
        .into_column()
}

fn str_builder(name: &str, cap: usize) -> StringChunkedBuilder {
    StringChunkedBuilder::new(name.into(), cap)
}

struct AccountsBuf {
    id: StringChunkedBuilder,
    name: StringChunkedBuilder,
    segment: StringChunkedBuilder,
    signup: Vec<Option<i32>>,
    seats: Vec<Option<i64>>,
    onboarding: Vec<Option<f64>>,
}

impl AccountsBuf {
    fn new(cap: usize) -> Self {
        AccountsBuf {
            id: str_builder("customer_id", cap),
            name: str_builder("name", cap),
            segment: str_builder("segment", cap),
            signup: Vec::with_capacity(cap),
            seats: Vec::with_capacity(cap),
            onboarding: Vec::with_capacity(cap),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        let h = self.signup.len();
        DataFrame::new(
            h,
            vec![
                self.id.finish().into_column(),
                self.name.finish().into_column(),
                self.segment.finish().into_column(),
                Int32Chunked::from_slice_options("signup_date".into(), &self.signup)
                    .into_date()
                    .into_column(),
                Int64Chunked::from_slice_options("seats".into(), &self.seats).into_column(),
                Float64Chunked::from_slice_options(
                    "onboarding_completion_pct".into(),
                    &self.onboarding,
                )
                .into_column(),
            ],
        )
        .map_err(polars_err)
    }
}

struct UsageBuf {
    id: StringChunkedBuilder,
    date: Vec<i32>,
    feature: StringChunkedBuilder,
    events: Vec<i32>,
    users: Vec<i32>,
}

impl UsageBuf {
    fn new(accounts: usize) -> Self {
        let cap = (accounts * 64).min(MAX_PART_ROWS + 4_096);
        UsageBuf {
            id: str_builder("customer_id", cap),
            date: Vec::with_capacity(cap),
            feature: str_builder("feature", cap),
            events: Vec::with_capacity(cap),
            users: Vec::with_capacity(cap),
        }
    }

    fn len(&self) -> usize {
        self.date.len()
    }

    #[inline]
    fn push(&mut self, id: &str, date: i32, feature: &str, events: i32, users: i32) {
        self.id.append_value(id);
        self.date.push(date);
        self.feature.append_value(feature);
        self.events.push(events);
        self.users.push(users);
    }

    fn finish(self) -> Result<DataFrame> {
        let h = self.date.len();
        DataFrame::new(
            h,
            vec![
                self.id.finish().into_column(),
                date_col("date", self.date),
                self.feature.finish().into_column(),
                Int32Chunked::from_vec("events".into(), self.events).into_column(),
                Int32Chunked::from_vec("users".into(), self.users).into_column(),
            ],
        )
        .map_err(polars_err)
    }
}

struct TicketsBuf {
    ticket_id: StringChunkedBuilder,
    id: StringChunkedBuilder,
    opened: Vec<i64>,
    closed: Vec<Option<i64>>,
    priority: StringChunkedBuilder,
}

impl TicketsBuf {
    fn new(cap: usize) -> Self {
        TicketsBuf {
            ticket_id: str_builder("ticket_id", cap),
            id: str_builder("customer_id", cap),
            opened: Vec::with_capacity(cap),
            closed: Vec::with_capacity(cap),
            priority: str_builder("priority", cap),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        let h = self.opened.len();
        let utc = Some(TimeZone::UTC);
        DataFrame::new(
            h,
            vec![
                self.ticket_id.finish().into_column(),
                self.id.finish().into_column(),
                Int64Chunked::from_vec("opened_at".into(), self.opened)
                    .into_datetime(TimeUnit::Microseconds, utc.clone())
                    .into_column(),
                Int64Chunked::from_slice_options("closed_at".into(), &self.closed)
                    .into_datetime(TimeUnit::Microseconds, utc)
                    .into_column(),
                self.priority.finish().into_column(),
            ],
        )
        .map_err(polars_err)
    }
}

struct SurveysBuf {
    id: StringChunkedBuilder,
    at: Vec<i64>,
    kind: StringChunkedBuilder,
    score: Vec<i64>,
}

impl SurveysBuf {
    fn new(cap: usize) -> Self {
        SurveysBuf {
            id: str_builder("customer_id", cap),
            at: Vec::with_capacity(cap),
            kind: str_builder("kind", cap),
            score: Vec::with_capacity(cap),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        let h = self.at.len();
        DataFrame::new(
            h,
            vec![
                self.id.finish().into_column(),
                Int64Chunked::from_vec("responded_at".into(), self.at)
                    .into_datetime(TimeUnit::Microseconds, None)
                    .into_column(),
                self.kind.finish().into_column(),
                Int64Chunked::from_vec("score".into(), self.score).into_column(),
            ],
        )
        .map_err(polars_err)
    }
}

struct RevenueBuf {
    id: StringChunkedBuilder,
    month: Vec<i32>,
    mrr: Vec<f64>,
    dpd: Vec<i32>,
}

impl RevenueBuf {
    fn new(cap: usize) -> Self {
        RevenueBuf {
            id: str_builder("customer_id", cap),
            month: Vec::with_capacity(cap),
            mrr: Vec::with_capacity(cap),
            dpd: Vec::with_capacity(cap),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        let h = self.month.len();
        DataFrame::new(
            h,
            vec![
                self.id.finish().into_column(),
                date_col("month", self.month),
                Float64Chunked::from_vec("mrr".into(), self.mrr).into_column(),
                Int32Chunked::from_vec("days_past_due".into(), self.dpd).into_column(),
            ],
        )
        .map_err(polars_err)
    }
}

struct ChurnBuf {
    id: StringChunkedBuilder,
    on: Vec<i32>,
}

impl ChurnBuf {
    fn new(cap: usize) -> Self {
        ChurnBuf {
            id: str_builder("customer_id", cap),
            on: Vec::with_capacity(cap),
        }
    }

    fn finish(self) -> Result<DataFrame> {
        let h = self.on.len();
        DataFrame::new(
            h,
            vec![
                self.id.finish().into_column(),
                date_col("churned_on", self.on),
            ],
        )
        .map_err(polars_err)
    }
}

/// One chunk's rows of every table.
struct Buffers {
    accounts: AccountsBuf,
    usage: UsageBuf,
    tickets: TicketsBuf,
    surveys: SurveysBuf,
    revenue: RevenueBuf,
    churn: ChurnBuf,
    /// Scratch for one account's tickets: (opened µs, priority index).
    ticket_scratch: Vec<(i64, usize)>,
    /// Scratch for one account's surveys: (responded µs, is_nps, risk at that time).
    survey_scratch: Vec<(i64, bool, f64)>,
    text: String,
}

impl Buffers {
    fn new(n: usize) -> Self {
        Buffers {
            accounts: AccountsBuf::new(n),
            usage: UsageBuf::new(n),
            tickets: TicketsBuf::new(n * 2 + n / 4),
            surveys: SurveysBuf::new(n * 2),
            revenue: RevenueBuf::new(n * 13),
            churn: ChurnBuf::new(n / 8),
            ticket_scratch: Vec::new(),
            survey_scratch: Vec::new(),
            text: String::new(),
        }
    }

    /// DataFrames in the order of [`TABLES`].
    fn finish(self) -> Result<Vec<DataFrame>> {
        Ok(vec![
            self.accounts.finish()?,
            self.usage.finish()?,
            self.tickets.finish()?,
            self.surveys.finish()?,
            self.revenue.finish()?,
            self.churn.finish()?,
        ])
    }

    /// Encodes every non-empty table of the chunk.
    fn encode(self, parts: &mut Vec<EncodedPart>) -> Result<()> {
        for (table, df) in self.finish()?.into_iter().enumerate() {
            encode_part(table, df, parts)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Segment {
    Enterprise,
    MidMarket,
    Smb,
}

impl Segment {
    fn name(self) -> &'static str {
        match self {
            Segment::Enterprise => "enterprise",
            Segment::MidMarket => "mid_market",
            Segment::Smb => "smb",
        }
    }
}

/// Dates of the run, as days since 1970-01-01.
struct Ctx {
    as_of: i32,
    usage_days: i32,
    id_width: usize,
    /// First days of the revenue months, oldest first: the 12 months up to
    /// the as-of month, then the month after it.
    months: Vec<i32>,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn epoch_days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

#[inline]
fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen::<f64>()
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson draw (Knuth's method; a normal approximation for large means).
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> usize {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as usize;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = uniform(rng);
    while p > limit {
        k += 1;
        p *= uniform(rng);
    }
    k
}

/// A time of day in µs, mostly in business hours.
fn time_of_day(rng: &mut ChaCha8Rng) -> i64 {
    let secs: i64 = if uniform(rng) < 0.85 {
        rng.gen_range(8 * 3600..18 * 3600)
    } else {
        rng.gen_range(0..86_400)
    };
    secs * 1_000_000
}

/// The latent state of one account.
struct Profile {
    segment: Segment,
    /// Signup day; for generation a null signup counts as three years ago.
    signup: i32,
    seats: f64,
    health: f64,
    churn: Option<i32>,
    /// Days before churn at which the decline starts (60-120).
    onset: f64,
    /// A temporary dip of a healthy account: (centre day, depth).
    dip: Option<(i32, f64)>,
}

impl Profile {
    /// How far the account has slid towards churn on day `t`, 0-1.
    fn risk(&self, t: i32) -> f64 {
        let mut r = 0.0;
        if let Some(c) = self.churn {
            let d = f64::from(c - t);
            r = ((self.onset - d) / (self.onset - 30.0)).clamp(0.0, 1.0);
        }
        if let Some((centre, depth)) = self.dip {
            let x = f64::from((t - centre).abs()) / 40.0;
            r = f64::max(r, depth * (1.0 - x).max(0.0));
        }
        r
    }

    /// Last day (exclusive) on which the account produces events.
    fn end_excl(&self, horizon_end_excl: i32) -> i32 {
        match self.churn {
            Some(c) => c.min(horizon_end_excl),
            None => horizon_end_excl,
        }
    }
}

impl Ctx {
    fn new(opts: &GenerateOptions) -> Result<Self> {
        let bad_date = || {
            Error::Usage(format!(
                "--as-of {} is too close to the ends of the calendar to generate data around it",
                opts.as_of
            ))
        };
        let first_of_month = opts.as_of.with_day(1).ok_or_else(bad_date)?;
        let mut months = Vec::with_capacity(13);
        for k in (0..12u32).rev() {
            let m = first_of_month
                .checked_sub_months(Months::new(k))
                .ok_or_else(bad_date)?;
            months.push(epoch_days(m));
        }
        let next = first_of_month
            .checked_add_months(Months::new(1))
            .ok_or_else(bad_date)?;
        months.push(epoch_days(next));
        // Four years before and a year after must stay representable.
        opts.as_of
            .checked_sub_days(chrono::Days::new(4 * 366))
            .and_then(|_| opts.as_of.checked_add_days(chrono::Days::new(366)))
            .ok_or_else(bad_date)?;
        let digits = opts.accounts.max(1).to_string().len();
        if opts.usage_days == 0 || opts.usage_days > 4 * 366 {
            return Err(Error::Usage(format!(
                "--usage-days {}: expected 1 to 1464 days",
                opts.usage_days
            )));
        }
        Ok(Ctx {
            as_of: epoch_days(opts.as_of),
            usage_days: opts.usage_days as i32,
            id_width: digits.max(7),
            months,
        })
    }

    /// Generates and encodes chunk `chunk` of the accounts: its own random
    /// stream, derived from (seed, chunk index).
    fn chunk(&self, opts: &GenerateOptions, chunk: usize) -> Result<Vec<EncodedPart>> {
        let first = chunk * CHUNK_ACCOUNTS;
        let n = CHUNK_ACCOUNTS.min(opts.accounts.saturating_sub(first));
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        rng.set_stream(chunk as u64);
        let mut bufs = Buffers::new(n);
        let mut parts = Vec::new();
        for i in 0..n {
            self.account(&mut rng, (first + i + 1) as u64, &mut bufs);
            if bufs.usage.len() >= MAX_PART_ROWS {
                let full = std::mem::replace(&mut bufs.usage, UsageBuf::new(n));
                encode_part(1, full.finish()?, &mut parts)?;
            }
        }
        bufs.encode(&mut parts)?;
        Ok(parts)
    }

    /// Generates account number `num` (1-based) into `b`.
    fn account(&self, rng: &mut ChaCha8Rng, num: u64, b: &mut Buffers) {
        let a = self.as_of;
        let mut id = String::with_capacity(16);
        let _ = write!(id, "C{num:0w$}", w = self.id_width);

        // --- accounts row -------------------------------------------------
        let s = uniform(rng);
        let segment = if s < 0.15 {
            Segment::Enterprise
        } else if s < 0.50 {
            Segment::MidMarket
        } else {
            Segment::Smb
        };
        let r = uniform(rng);
        let signup: Option<i32> = if r < 0.002 {
            None
        } else if r < 0.007 {
            Some(a + rng.gen_range(1..=30))
        } else if r < 0.037 {
            Some(a - rng.gen_range(0..90))
        } else {
            Some(a - rng.gen_range(90..1095))
        };
        let seats = match segment {
            Segment::Enterprise => {
                (rng.gen_range(150f64.ln()..5000f64.ln()).exp() / 10.0).round() * 10.0
            }
            Segment::MidMarket => rng.gen_range(20f64.ln()..250f64.ln()).exp().round(),
            Segment::Smb => rng.gen_range(0f64..30f64.ln()).exp().round().max(1.0),
        };
        let seats_null = uniform(rng) < 0.03;
        // Latent health: bell-shaped around 0.55.
        let mut health = (uniform(rng) + uniform(rng) + uniform(rng)) / 3.0 * 0.9 + 0.1;

        // Churn: ~10% of the accounts that have been customers for a while.
        let sig_eff = signup.unwrap_or(a - 1095);
        let mut churn = None;
        if uniform(rng) < 0.105 {
            let c = a + rng.gen_range(-89..=90);
            if c - sig_eff >= 120 {
                churn = Some(c);
                health *= 0.8;
            }
        }
        let onset = rng.gen_range(60.0..120.0);
        let dip = if churn.is_none() && uniform(rng) < 0.10 {
            Some((rng.gen_range(a - 120..a + 60), rng.gen_range(0.3..0.6)))
        } else {
            None
        };
        let p = Profile {
            segment,
            signup: sig_eff,
            seats,
            health,
            churn,
            onset,
            dip,
        };

        let tenure = a - sig_eff;
        let onboarding = if tenure < 90 {
            f64::from(tenure.max(0)) / 90.0 * 100.0 * (0.3 + 0.9 * health) + 8.0 * normal(rng)
        } else {
            55.0 + 45.0 * health + 12.0 * normal(rng)
        };
        let onboarding = (onboarding.clamp(0.0, 100.0) * 10.0).round() / 10.0;
        let onboarding_null = uniform(rng) < 0.05;

        b.text.clear();
        let _ = write!(
            b.text,
            "{} {} {}",
            NAME_FIRST[rng.gen_range(0..NAME_FIRST.len())],
            NAME_SECOND[rng.gen_range(0..NAME_SECOND.len())],
            NAME_SUFFIX[rng.gen_range(0..NAME_SUFFIX.len())]
        );
        b.accounts.id.append_value(&id);
        b.accounts.name.append_value(&b.text);
        b.accounts.segment.append_value(segment.name());
        b.accounts.signup.push(signup);
        b.accounts.seats.push((!seats_null).then_some(seats as i64));
        b.accounts
            .onboarding
            .push((!onboarding_null).then_some(onboarding));

        // Draw everything per table in a fixed order.
        let no_usage = uniform(rng) < 0.03;
        if !no_usage {
            self.usage(rng, &id, &p, b);
        }
        self.tickets(rng, &id, num, &p, b);
        self.surveys(rng, &id, &p, b);
        self.revenue(rng, &id, &p, b);
        if let Some(c) = p.churn {
            b.churn.id.append_value(&id);
            b.churn.on.push(c);
        }
    }

    fn usage(&self, rng: &mut ChaCha8Rng, id: &str, p: &Profile, b: &mut Buffers) {
        let h = p.health;
        let (p_base, n_range, q_base) = match p.segment {
            Segment::Enterprise => (0.84, (3usize, 8usize), 0.20),
            Segment::MidMarket => (0.44, (2, 6), 0.13),
            Segment::Smb => (0.21, (1, 4), 0.10),
        };
        let p_day = (p_base * (0.5 + h)).min(0.97);
        let user_frac = 0.15 + 0.55 * h;
        let q = q_base * (0.5 + h);
        // Healthier accounts use a few more features.
        let n_feat =
            (rng.gen_range(n_range.0..=n_range.1) + usize::from(h > 0.7)).min(FEATURES.len());
        let mut order: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        for i in 0..n_feat {
            let j = rng.gen_range(i..FEATURES.len());
            order.swap(i, j);
        }
        let start = (self.as_of - self.usage_days + 1).max(p.signup);
        let end = p.end_excl(self.as_of + DAYS_AFTER + 1);
        for t in start..end {
            let risk = p.risk(t);
            let m = 1.0 - 0.85 * risk;
            let weekend = (t + 3).rem_euclid(7) >= 5;
            let wf = if weekend { 0.3 } else { 1.0 };
            if uniform(rng) >= p_day * wf * m {
                continue;
            }
            let users = (p.seats * user_frac * (0.4 + 0.6 * m) * rng.gen_range(0.6..1.4))
                .round()
                .max(1.0) as i32;
            let events = users + rng.gen_range(0..=users.saturating_mul(2));
            b.usage.push(id, t, "login", events, users);
            for &f in &order[..n_feat] {
                if uniform(rng) >= q * m {
                    continue;
                }
                let (ev, us) = if uniform(rng) < 0.02 {
                    // A scheduled job that ran without anyone using it.
                    (0, 0)
                } else {
                    let fu = (f64::from(users) * rng.gen_range(0.05..0.6))
                        .round()
                        .max(1.0) as i32;
                    (fu.saturating_mul(rng.gen_range(1..=6)), fu)
                };
                b.usage.push(id, t, FEATURES[f], ev, us);
            }
        }
    }

    fn tickets(&self, rng: &mut ChaCha8Rng, id: &str, num: u64, p: &Profile, b: &mut Buffers) {
        let base = match p.segment {
            Segment::Enterprise => 5.0,
            Segment::MidMarket => 2.2,
            Segment::Smb => 1.35,
        } * (1.5 - p.health);
        let start = (self.as_of - EVENT_DAYS + 1).max(p.signup);
        let end = p.end_excl(self.as_of + DAYS_AFTER + 1);
        let scratch = &mut b.ticket_scratch;
        scratch.clear();
        if end > start {
            let n = poisson(rng, base * f64::from(end - start) / 365.0);
            for _ in 0..n {
                let t = rng.gen_range(start..end);
                let mut prio = {
                    let x = uniform(rng);
                    if x < 0.30 {
                        0
                    } else if x < 0.77 {
                        1
                    } else if x < 0.94 {
                        2
                    } else {
                        3
                    }
                };
                let risk = p.risk(t);
                if prio < 2 && uniform(rng) < 0.5 * risk {
                    prio = if uniform(rng) < 0.5 { 2 } else { 3 };
                }
                scratch.push((i64::from(t) * MICROS_PER_DAY + time_of_day(rng), prio));
            }
        }
        // Churners file more and more urgent tickets as churn nears.
        if let Some(c) = p.churn {
            let extra = poisson(rng, 2.0);
            for _ in 0..extra {
                let d = (p.onset * (1.0 - uniform(rng).sqrt())).round() as i32 + 1;
                let t = c - d;
                let x = uniform(rng);
                let prio = if x < 0.10 {
                    0
                } else if x < 0.30 {
                    1
                } else if x < 0.65 {
                    2
                } else {
                    3
                };
                if t >= start && t < end {
                    scratch.push((i64::from(t) * MICROS_PER_DAY + time_of_day(rng), prio));
                }
            }
        }
        scratch.sort_unstable();
        let horizon = i64::from(self.as_of + DAYS_AFTER + 1) * MICROS_PER_DAY;
        for (k, &(opened, prio)) in scratch.iter().enumerate() {
            let hours = match prio {
                3 => rng.gen_range(0.5..24.0),
                2 => rng.gen_range(1.0..72.0),
                1 => rng.gen_range(2.0..168.0),
                _ => rng.gen_range(4.0..336.0),
            };
            let closed = opened + (f64::round(hours * 3600.0) as i64) * 1_000_000;
            let recent = horizon - opened < 7 * MICROS_PER_DAY;
            let open = uniform(rng) < if recent { 0.5 } else { 0.03 };
            b.text.clear();
            let _ = write!(b.text, "T{num:0w$}-{k:03}", w = self.id_width);
            b.tickets.ticket_id.append_value(&b.text);
            b.tickets.id.append_value(id);
            b.tickets.opened.push(opened);
            b.tickets.closed.push((!open).then_some(closed));
            b.tickets.priority.append_value(PRIORITIES[prio]);
        }
    }

    fn surveys(&self, rng: &mut ChaCha8Rng, id: &str, p: &Profile, b: &mut Buffers) {
        let start = (self.as_of - EVENT_DAYS + 1).max(p.signup);
        let end = p.end_excl(self.as_of + DAYS_AFTER + 1);
        let scratch = &mut b.survey_scratch;
        scratch.clear();
        if end > start {
            let n = poisson(rng, 1.68 * f64::from(end - start) / 365.0);
            for _ in 0..n {
                let t = rng.gen_range(start..end);
                let nps = uniform(rng) < 0.6;
                scratch.push((
                    i64::from(t) * MICROS_PER_DAY + time_of_day(rng),
                    nps,
                    p.risk(t),
                ));
            }
        }
        // Churners are asked (and answer badly) more often before leaving.
        if let Some(c) = p.churn {
            let extra = poisson(rng, 0.7);
            for _ in 0..extra {
                let t = c - rng.gen_range(15..p.onset.max(16.0) as i32);
                let nps = uniform(rng) < 0.6;
                if t >= start && t < end {
                    scratch.push((
                        i64::from(t) * MICROS_PER_DAY + time_of_day(rng),
                        nps,
                        p.risk(t),
                    ));
                }
            }
        }
        scratch.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
        for &(at, nps, risk) in scratch.iter() {
            let h = p.health * (1.0 - 0.7 * risk);
            let (kind, score) = if nps {
                (
                    "nps",
                    (3.0 + 7.0 * h + 1.5 * normal(rng)).round().clamp(0.0, 10.0),
                )
            } else {
                (
                    "csat",
                    (1.5 + 3.5 * h + 0.7 * normal(rng)).round().clamp(1.0, 5.0),
                )
            };
            b.surveys.id.append_value(id);
            b.surveys.at.push(at);
            b.surveys.kind.append_value(kind);
            b.surveys.score.push(score as i64);
        }
    }

    fn revenue(&self, rng: &mut ChaCha8Rng, id: &str, p: &Profile, b: &mut Buffers) {
        let prices: &[f64] = match p.segment {
            Segment::Enterprise => &[45.0, 50.0, 55.0, 60.0],
            Segment::MidMarket => &[30.0, 35.0, 40.0],
            Segment::Smb => &[20.0, 25.0, 29.0],
        };
        let price = prices[rng.gen_range(0..prices.len())];
        let free = p.segment == Segment::Smb && uniform(rng) < 0.03;
        let mut seats = p.seats;
        // Healthy accounts sometimes expand; some others shrink a little.
        let change_at = rng.gen_range(0..self.months.len());
        let change = if p.health > 0.6 && uniform(rng) < 0.25 {
            rng.gen_range(1.1..1.3)
        } else if uniform(rng) < 0.05 {
            0.9
        } else {
            1.0
        };
        // Billing starts with the signup month.
        let signup_month = NaiveDate::from_num_days_from_ce_opt(p.signup + 719_163)
            .and_then(|d| d.with_day(1))
            .map_or(i32::MIN, epoch_days);
        for (k, &month) in self.months.iter().enumerate() {
            if month < signup_month {
                continue;
            }
            if p.churn.is_some_and(|c| month >= c) {
                break;
            }
            if k == change_at {
                seats = (seats * change).round().max(1.0);
            }
            let risk = p.risk(month + 14);
            let mrr = if free {
                0.0
            } else {
                let base = seats * price;
                if risk > 0.0 {
                    // Downgrades in steps of 5% so values still tie.
                    base * (1.0 - (risk * 9.0).round() * 0.05)
                } else {
                    base
                }
            };
            let mrr = (mrr * 100.0).round() / 100.0;
            let dpd = if risk > 0.0 && uniform(rng) < 0.2 + 0.8 * risk {
                (risk * rng.gen_range(10.0..90.0)).round() as i32
            } else {
                let x = uniform(rng);
                if x < 0.88 {
                    0
                } else if x < 0.97 {
                    rng.gen_range(1..15)
                } else if x < 0.995 {
                    rng.gen_range(15..46)
                } else {
                    rng.gen_range(46..91)
                }
            };
            b.revenue.id.append_value(id);
            b.revenue.month.push(month);
            b.revenue.mrr.push(mrr);
            b.revenue.dpd.push(dpd);
            // A correction row for the same month: same or slightly lower mrr.
            if uniform(rng) < 0.003 {
                let again = if uniform(rng) < 0.5 {
                    mrr
                } else {
                    (mrr * 95.0).round() / 100.0
                };
                b.revenue.id.append_value(id);
                b.revenue.month.push(month);
                b.revenue.mrr.push(again);
                b.revenue.dpd.push(dpd);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(accounts: usize, seed: u64) -> GenerateOptions {
        GenerateOptions {
            accounts,
            seed,
            as_of: NaiveDate::from_ymd_opt(2024, 6, 30).expect("valid date"),
            usage_days: USAGE_DAYS,
        }
    }

    fn read_all(store: &Store, table: &str) -> DataFrame {
        let mut frames = Vec::new();
        for obj in store.list(table).expect("list") {
            let bytes = store.get(&obj.rel).expect("get");
            let df = ParquetReader::new(std::io::Cursor::new(bytes.to_vec()))
                .finish()
                .expect("parquet");
            frames.push(df);
        }
        let mut out = frames.remove(0);
        for f in frames {
            out.vstack_mut(&f).expect("vstack");
        }
        out
    }

    #[test]
    fn zero_accounts_write_empty_tables_with_schema() {
        let store = Store::open("memory://generate-zero", &[]).expect("store");
        let report = generate(&opts(0, 1), &store).expect("generate");
        assert_eq!(report.tables.len(), 6);
        assert!(report.tables.iter().all(|(_, n)| *n == 0));
        let usage = read_all(&store, "usage");
        assert_eq!(usage.height(), 0);
        assert_eq!(usage.schema().get("date"), Some(&DataType::Date),);
        let tickets = read_all(&store, "support_tickets");
        assert_eq!(
            tickets.schema().get("opened_at"),
            Some(&DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC)
            )),
        );
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = Store::open("memory://generate-a", &[]).expect("store");
        let b = Store::open("memory://generate-b", &[]).expect("store");
        let c = Store::open("memory://generate-c", &[]).expect("store");
        let ra = generate(&opts(300, 7), &a).expect("generate");
        let rb = generate(&opts(300, 7), &b).expect("generate");
        let rc = generate(&opts(300, 8), &c).expect("generate");
        assert_eq!(ra, rb);
        assert_ne!(ra, rc);
        for t in TABLES {
            let x = a.get(&format!("{t}/part-00000.parquet")).expect("a");
            let y = b.get(&format!("{t}/part-00000.parquet")).expect("b");
            assert_eq!(x, y, "{t}");
        }
        assert_ne!(
            a.get("usage/part-00000.parquet").expect("a"),
            c.get("usage/part-00000.parquet").expect("c")
        );
    }

    #[test]
    fn shape_of_the_data() {
        let store = Store::open("memory://generate-shape", &[]).expect("store");
        let o = opts(2000, 42);
        let report = generate(&o, &store).expect("generate");
        let rows: std::collections::HashMap<_, _> = report.tables.iter().cloned().collect();
        assert_eq!(rows["accounts"], 2000);
        let usage_per_account = rows["usage"] as f64 / 2000.0;
        assert!(
            (45.0..75.0).contains(&usage_per_account),
            "{usage_per_account}"
        );
        let churn_share = rows["churn_labels"] as f64 / 2000.0;
        assert!((0.06..0.14).contains(&churn_share), "{churn_share}");
        let usage = read_all(&store, "usage");
        let as_of = epoch_days(o.as_of);
        let dates = usage
            .column("date")
            .expect("date")
            .cast(&DataType::Int32)
            .expect("cast");
        let max = dates.i32().expect("i32").max().expect("max");
        assert_eq!(max, as_of + DAYS_AFTER);
        let accounts = read_all(&store, "accounts");
        let ids = accounts
            .column("customer_id")
            .expect("id")
            .str()
            .expect("str")
            .clone();
        let v: Vec<&str> = ids.iter().map(|x| x.unwrap_or("")).collect();
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(v, sorted);
        assert_eq!(v[0], "C0000001");
    }
}
