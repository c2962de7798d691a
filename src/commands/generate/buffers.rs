//! Column buffers of the generated tables: each chunk of accounts builds
//! its rows here, column by column, then turns them into frames.

use polars::prelude::*;

use super::*;

pub(super) fn polars_err(e: PolarsError) -> Error {
    Error::polars("building generated data", e)
}

pub(super) fn date_col(name: &str, v: Vec<i32>) -> Column {
    Int32Chunked::from_vec(name.into(), v)
        .into_date()
        .into_column()
}

pub(super) fn str_builder(name: &str, cap: usize) -> StringChunkedBuilder {
    StringChunkedBuilder::new(name.into(), cap)
}

pub(super) struct AccountsBuf {
    pub(super) id: StringChunkedBuilder,
    pub(super) name: StringChunkedBuilder,
    pub(super) segment: StringChunkedBuilder,
    pub(super) signup: Vec<Option<i32>>,
    pub(super) seats: Vec<Option<i64>>,
    pub(super) onboarding: Vec<Option<f64>>,
}

impl AccountsBuf {
    pub(super) fn new(cap: usize) -> Self {
        AccountsBuf {
            id: str_builder("customer_id", cap),
            name: str_builder("name", cap),
            segment: str_builder("segment", cap),
            signup: Vec::with_capacity(cap),
            seats: Vec::with_capacity(cap),
            onboarding: Vec::with_capacity(cap),
        }
    }

    pub(super) fn finish(self) -> Result<DataFrame> {
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

pub(super) struct UsageBuf {
    pub(super) id: StringChunkedBuilder,
    pub(super) date: Vec<i32>,
    pub(super) feature: StringChunkedBuilder,
    pub(super) events: Vec<i32>,
    pub(super) users: Vec<i32>,
}

impl UsageBuf {
    pub(super) fn new(accounts: usize) -> Self {
        let cap = (accounts * 64).min(MAX_PART_ROWS + 4_096);
        UsageBuf {
            id: str_builder("customer_id", cap),
            date: Vec::with_capacity(cap),
            feature: str_builder("feature", cap),
            events: Vec::with_capacity(cap),
            users: Vec::with_capacity(cap),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.date.len()
    }

    #[inline]
    pub(super) fn push(&mut self, id: &str, date: i32, feature: &str, events: i32, users: i32) {
        self.id.append_value(id);
        self.date.push(date);
        self.feature.append_value(feature);
        self.events.push(events);
        self.users.push(users);
    }

    pub(super) fn finish(self) -> Result<DataFrame> {
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

pub(super) struct TicketsBuf {
    pub(super) ticket_id: StringChunkedBuilder,
    pub(super) id: StringChunkedBuilder,
    pub(super) opened: Vec<i64>,
    pub(super) closed: Vec<Option<i64>>,
    pub(super) priority: StringChunkedBuilder,
}

impl TicketsBuf {
    pub(super) fn new(cap: usize) -> Self {
        TicketsBuf {
            ticket_id: str_builder("ticket_id", cap),
            id: str_builder("customer_id", cap),
            opened: Vec::with_capacity(cap),
            closed: Vec::with_capacity(cap),
            priority: str_builder("priority", cap),
        }
    }

    pub(super) fn finish(self) -> Result<DataFrame> {
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

pub(super) struct SurveysBuf {
    pub(super) id: StringChunkedBuilder,
    pub(super) at: Vec<i64>,
    pub(super) kind: StringChunkedBuilder,
    pub(super) score: Vec<i64>,
}

impl SurveysBuf {
    pub(super) fn new(cap: usize) -> Self {
        SurveysBuf {
            id: str_builder("customer_id", cap),
            at: Vec::with_capacity(cap),
            kind: str_builder("kind", cap),
            score: Vec::with_capacity(cap),
        }
    }

    pub(super) fn finish(self) -> Result<DataFrame> {
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

pub(super) struct RevenueBuf {
    pub(super) id: StringChunkedBuilder,
    pub(super) month: Vec<i32>,
    pub(super) mrr: Vec<f64>,
    pub(super) dpd: Vec<i32>,
}

impl RevenueBuf {
    pub(super) fn new(cap: usize) -> Self {
        RevenueBuf {
            id: str_builder("customer_id", cap),
            month: Vec::with_capacity(cap),
            mrr: Vec::with_capacity(cap),
            dpd: Vec::with_capacity(cap),
        }
    }

    pub(super) fn finish(self) -> Result<DataFrame> {
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

pub(super) struct ChurnBuf {
    pub(super) id: StringChunkedBuilder,
    pub(super) on: Vec<i32>,
}

impl ChurnBuf {
    pub(super) fn new(cap: usize) -> Self {
        ChurnBuf {
            id: str_builder("customer_id", cap),
            on: Vec::with_capacity(cap),
        }
    }

    pub(super) fn finish(self) -> Result<DataFrame> {
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
pub(super) struct Buffers {
    pub(super) accounts: AccountsBuf,
    pub(super) usage: UsageBuf,
    pub(super) tickets: TicketsBuf,
    pub(super) surveys: SurveysBuf,
    pub(super) revenue: RevenueBuf,
    pub(super) churn: ChurnBuf,
    /// Scratch for one account's tickets: (opened µs, priority index).
    pub(super) ticket_scratch: Vec<(i64, usize)>,
    /// Scratch for one account's surveys: (responded µs, is_nps, risk at that time).
    pub(super) survey_scratch: Vec<(i64, bool, f64)>,
    pub(super) text: String,
}

impl Buffers {
    pub(super) fn new(n: usize) -> Self {
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
    pub(super) fn finish(self) -> Result<Vec<DataFrame>> {
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
    pub(super) fn encode(self, parts: &mut Vec<EncodedPart>) -> Result<()> {
        for (table, df) in self.finish()?.into_iter().enumerate() {
            encode_part(table, df, parts)?;
        }
        Ok(())
    }
}
