//! A small, valid set of warehouse exports for the default pipeline, kept
//! as plain rows so a test can break one value, one row or one column and
//! know exactly what the job must count or refuse (SPEC §2, §3, §7).
//! Dates are days before D = 2026-11-24 (negative = after D).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::common::*;

/// One accounts row.
#[derive(Clone, Debug)]
pub struct Acc {
    pub id: Option<String>,
    pub name: Option<String>,
    pub segment: Option<String>,
    pub signup: Option<i64>,
    pub seats: Option<i64>,
    pub pct: Option<f64>,
}

/// One usage row.
#[derive(Clone, Debug)]
pub struct Use {
    pub id: Option<String>,
    pub day: Option<i64>,
    pub feature: Option<String>,
    pub events: Option<i64>,
    pub users: Option<i64>,
}

/// One support_tickets row.
#[derive(Clone, Debug)]
pub struct Tkt {
    pub ticket: Option<String>,
    pub id: Option<String>,
    pub opened: Option<i64>,
    pub closed: Option<i64>,
    pub priority: Option<String>,
}

/// One survey_responses row.
#[derive(Clone, Debug)]
pub struct Srv {
    pub id: Option<String>,
    pub at: Option<i64>,
    pub kind: Option<String>,
    pub score: Option<i64>,
}

/// One revenue row.
#[derive(Clone, Debug)]
pub struct Rev {
    pub id: Option<String>,
    pub month: Option<i64>,
    pub mrr: Option<f64>,
    pub dpd: Option<i64>,
}

/// Every table of the default pipeline, as rows.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub accounts: Vec<Acc>,
    pub usage: Vec<Use>,
    pub tickets: Vec<Tkt>,
    pub surveys: Vec<Srv>,
    pub revenue: Vec<Rev>,
}

/// The names of the fixture's customers; no message may ever print one.
pub const SECRET_NAME: &str = "Secretname";

pub fn o(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// The id of account `i` (A000, A001, …).
pub fn id(i: usize) -> Option<String> {
    Some(format!("A{i:03}"))
}

impl Fixture {
    /// `n` accounts, each with usage on each of the 10 days up to D (login
    /// and reports: 20 rows), 5 tickets, 5 survey answers and 5 months of
    /// revenue. Row counts per table: usage 20n, the others 5n.
    pub fn valid(n: usize) -> Fixture {
        let mut f = Fixture {
            accounts: Vec::new(),
            usage: Vec::new(),
            tickets: Vec::new(),
            surveys: Vec::new(),
            revenue: Vec::new(),
        };
        let segments = ["enterprise", "mid_market", "smb"];
        for i in 0..n {
            f.accounts.push(Acc {
                id: id(i),
                name: Some(format!("{SECRET_NAME} {i}")),
                segment: o(segments[i % 3]),
                signup: Some(200 + 10 * i as i64),
                seats: Some(10 + i as i64),
                pct: Some((i * 7 % 100) as f64),
            });
            for d in 0..10 {
                for feature in ["login", "reports"] {
                    f.usage.push(Use {
                        id: id(i),
                        day: Some(d),
                        feature: o(feature),
                        events: Some(3 + (i as i64 + d) % 5),
                        users: Some(1 + (i as i64 + d) % 3),
                    });
                }
            }
            let priorities = ["low", "normal", "high", "urgent", "normal"];
            for (k, p) in priorities.iter().enumerate() {
                f.tickets.push(Tkt {
                    ticket: Some(format!("T{i:03}-{k}")),
                    id: id(i),
                    opened: Some(5 + 15 * k as i64),
                    closed: if k % 2 == 0 {
                        Some(2 + 15 * k as i64)
                    } else {
                        None
                    },
                    priority: o(p),
                });
            }
            for k in 0..5 {
                let nps = k % 2 == 0;
                f.surveys.push(Srv {
                    id: id(i),
                    at: Some(3 + 30 * k as i64),
                    kind: o(if nps { "nps" } else { "csat" }),
                    score: Some(if nps {
                        (i as i64 + k as i64) % 11
                    } else {
                        1 + (i as i64 + k as i64) % 5
                    }),
                });
            }
            for k in 0..5 {
                f.revenue.push(Rev {
                    id: id(i),
                    month: Some(month_before_d(k)),
                    mrr: Some(100.0 * (i + 1) as f64 + 10.0 * k as f64),
                    dpd: Some((i as i64 * 3 + k as i64) % 40),
                });
            }
        }
        f
    }

    /// Rows per table, in the order written.
    pub fn rows(&self) -> [(&'static str, usize); 5] {
        [
            ("accounts", self.accounts.len()),
            ("usage", self.usage.len()),
            ("support_tickets", self.tickets.len()),
            ("survey_responses", self.surveys.len()),
            ("revenue", self.revenue.len()),
        ]
    }

    pub fn accounts_df(&self) -> DataFrame {
        let a = &self.accounts;
        DataFrame::new_infer_height(vec![
            str_col("customer_id", a.iter().map(|r| r.id.clone())),
            str_col("name", a.iter().map(|r| r.name.clone())),
            str_col("segment", a.iter().map(|r| r.segment.clone())),
            date_col(
                "signup_date",
                &a.iter().map(|r| r.signup).collect::<Vec<_>>(),
            ),
            Column::new(
                "seats".into(),
                a.iter().map(|r| r.seats).collect::<Vec<_>>(),
            ),
            Column::new(
                "onboarding_completion_pct".into(),
                a.iter().map(|r| r.pct).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    pub fn usage_df(&self) -> DataFrame {
        let u = &self.usage;
        DataFrame::new_infer_height(vec![
            str_col("customer_id", u.iter().map(|r| r.id.clone())),
            date_col("date", &u.iter().map(|r| r.day).collect::<Vec<_>>()),
            str_col("feature", u.iter().map(|r| r.feature.clone())),
            Column::new(
                "events".into(),
                u.iter().map(|r| r.events).collect::<Vec<_>>(),
            ),
            Column::new(
                "users".into(),
                u.iter().map(|r| r.users).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    pub fn tickets_df(&self) -> DataFrame {
        let t = &self.tickets;
        DataFrame::new_infer_height(vec![
            str_col("ticket_id", t.iter().map(|r| r.ticket.clone())),
            str_col("customer_id", t.iter().map(|r| r.id.clone())),
            ts_col("opened_at", &t.iter().map(|r| r.opened).collect::<Vec<_>>()),
            ts_col("closed_at", &t.iter().map(|r| r.closed).collect::<Vec<_>>()),
            str_col("priority", t.iter().map(|r| r.priority.clone())),
        ])
        .unwrap()
    }

    pub fn surveys_df(&self) -> DataFrame {
        let s = &self.surveys;
        DataFrame::new_infer_height(vec![
            str_col("customer_id", s.iter().map(|r| r.id.clone())),
            ts_col("responded_at", &s.iter().map(|r| r.at).collect::<Vec<_>>()),
            str_col("kind", s.iter().map(|r| r.kind.clone())),
            Column::new(
                "score".into(),
                s.iter().map(|r| r.score).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    pub fn revenue_df(&self) -> DataFrame {
        let r = &self.revenue;
        DataFrame::new_infer_height(vec![
            str_col("customer_id", r.iter().map(|r| r.id.clone())),
            date_col("month", &r.iter().map(|r| r.month).collect::<Vec<_>>()),
            Column::new("mrr".into(), r.iter().map(|r| r.mrr).collect::<Vec<_>>()),
            Column::new(
                "days_past_due".into(),
                r.iter().map(|r| r.dpd).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    /// The frame of one table by name.
    pub fn df(&self, table: &str) -> DataFrame {
        match table {
            "accounts" => self.accounts_df(),
            "usage" => self.usage_df(),
            "support_tickets" => self.tickets_df(),
            "survey_responses" => self.surveys_df(),
            "revenue" => self.revenue_df(),
            other => panic!("no table {other}"),
        }
    }

    /// Writes every table as `<dir>/<table>/part-0.parquet`.
    pub fn write(&self, dir: &Path) {
        self.write_with(dir, |_, df| df);
    }

    /// Writes every table, letting `edit` change a frame first (cast or
    /// drop a column).
    pub fn write_with(&self, dir: &Path, edit: impl Fn(&str, DataFrame) -> DataFrame) {
        for (t, _) in self.rows() {
            write_parquet(dir, &format!("{t}/part-0.parquet"), edit(t, self.df(t)));
        }
    }
}

/// A string column from optional values.
pub fn str_col(name: &str, v: impl Iterator<Item = Option<String>>) -> Column {
    Column::new(name.into(), v.collect::<Vec<Option<String>>>())
}

/// Days before D of the first day of the month `k` months before D's month.
pub fn month_before_d(k: u32) -> i64 {
    let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() - chrono::Months::new(k);
    (day(0) - first).num_days()
}

/// Timestamps at `seconds_into_day` (UTC) of dates before D, in `unit`,
/// labelled with time zone `tz` (None: naive, read as UTC).
pub fn ts_unit_col(
    name: &str,
    days_before_d: &[Option<i64>],
    seconds_into_day: i64,
    unit: TimeUnit,
    tz: Option<&str>,
) -> Column {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let per_second = match unit {
        TimeUnit::Nanoseconds => 1_000_000_000,
        TimeUnit::Microseconds => 1_000_000,
        TimeUnit::Milliseconds => 1_000,
    };
    let v: Vec<Option<i64>> = days_before_d
        .iter()
        .map(|d| d.map(|d| ((day(d) - epoch).num_days() * 86_400 + seconds_into_day) * per_second))
        .collect();
    let tz = TimeZone::opt_try_new(tz).unwrap();
    Series::new(name.into(), v)
        .cast(&DataType::Datetime(unit, tz))
        .unwrap()
        .into_column()
}

/// Replaces (or adds) a column of a frame.
pub fn with_col(mut df: DataFrame, c: Column) -> DataFrame {
    df.with_column(c).unwrap();
    df
}

/// Casts one column of a frame.
pub fn recast(df: DataFrame, name: &str, dt: DataType) -> DataFrame {
    let c = df.column(name).unwrap().cast(&dt).unwrap();
    with_col(df, c)
}

/// Drops one column of a frame.
pub fn without(df: DataFrame, name: &str) -> DataFrame {
    df.drop(name).unwrap()
}

/// Renames one column of a frame.
pub fn renamed(mut df: DataFrame, from: &str, to: &str) -> DataFrame {
    df.rename(from, to.into()).unwrap();
    df
}

/// The default pipeline's text with some settings replaced.
pub fn default_pipeline_with(settings: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo().join("pipelines/default.toml")).unwrap();
    for (key, value) in settings {
        let start = text
            .find(&format!("\n{key} = "))
            .unwrap_or_else(|| panic!("no setting {key}"))
            + 1;
        let end = start + text[start..].find('\n').unwrap();
        text.replace_range(start..end, &format!("{key} = {value}"));
    }
    text
}

/// The default pipeline with guards loose enough for planted bad rows to
/// be counted rather than refused.
pub fn lenient_pipeline() -> String {
    default_pipeline_with(&[("max_rejected_share", "0.5"), ("max_orphaned_share", "0.5")])
}

/// A scratch folder with an input folder, a pipeline file and an output
/// folder that must stay absent unless a run succeeds.
pub struct Case {
    pub tmp: tempfile::TempDir,
}

impl Case {
    pub fn new(pipeline: &str) -> Case {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("p.toml"), pipeline).unwrap();
        std::fs::create_dir_all(tmp.path().join("in")).unwrap();
        Case { tmp }
    }
    pub fn lenient() -> Case {
        Case::new(&lenient_pipeline())
    }
    pub fn strict() -> Case {
        Case::new(&default_pipeline_with(&[]))
    }
    pub fn input(&self) -> PathBuf {
        self.tmp.path().join("in")
    }
    pub fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }
    pub fn pipeline(&self) -> PathBuf {
        self.tmp.path().join("p.toml")
    }
    /// `healthscore run … --as-of D`, plus extra arguments.
    pub fn run(&self, extra: &[&str]) -> Out {
        let (p, i, o) = (self.pipeline(), self.input(), self.out());
        let mut args = vec![
            "run",
            "--pipeline",
            p.to_str().unwrap(),
            "--input",
            i.to_str().unwrap(),
            "--output",
            o.to_str().unwrap(),
            "--as-of",
            D,
        ];
        args.extend_from_slice(extra);
        healthscore(&args)
    }
    /// `healthscore check … --as-of D`, plus extra arguments.
    pub fn check(&self, extra: &[&str]) -> Out {
        let (p, i) = (self.pipeline(), self.input());
        let mut args = vec![
            "check",
            "--pipeline",
            p.to_str().unwrap(),
            "--input",
            i.to_str().unwrap(),
            "--as-of",
            D,
        ];
        args.extend_from_slice(extra);
        healthscore(&args)
    }
    /// The `_SUCCESS` manifest of the run for D.
    pub fn manifest(&self) -> serde_json::Value {
        read_manifest(&self.out(), D)
    }
    /// The scores of the run for D.
    pub fn scores(&self) -> DataFrame {
        read_parquet(&self.out().join(format!("scores/snapshot_date={D}")))
    }
}

/// Asserts the run failed with `code`, that stderr names every word, that
/// no customer name was printed, and that nothing was written.
pub fn assert_refused(case: &Case, r: &Out, code: i32, words: &[&str]) {
    assert_eq!(
        r.code, code,
        "expected exit {code}\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    let message = r
        .stderr
        .lines()
        .filter(|l| l.contains("error"))
        .collect::<Vec<_>>()
        .join("\n");
    for w in words {
        assert!(
            message.contains(w),
            "message lacks `{w}`:\n{message}\n(stderr: {})",
            r.stderr
        );
    }
    assert!(
        !r.stderr.contains(SECRET_NAME) && !r.stdout.contains(SECRET_NAME),
        "a customer name was printed:\n{}{}",
        r.stdout,
        r.stderr
    );
    assert!(
        !case.out().exists(),
        "nothing may be written for a refused input"
    );
}

/// Asserts the run succeeded.
pub fn assert_ok(r: &Out) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        !r.stderr.contains(SECRET_NAME) && !r.stdout.contains(SECRET_NAME),
        "a customer name was printed"
    );
}

/// The manifest counts of one table.
pub fn counts<'a>(m: &'a serde_json::Value, table: &str) -> &'a serde_json::Value {
    &m["tables"][table]
}

/// Every `rejected` entry of a table (non-zero ones), as pairs.
pub fn rejected(m: &serde_json::Value, table: &str) -> Vec<(String, i64)> {
    counts(m, table)["rejected"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
                .filter(|(_, v)| *v != 0)
                .collect()
        })
        .unwrap_or_default()
}

/// A manifest count of a table (`rows_read`, `orphaned.null_customer_id`…).
pub fn count(m: &serde_json::Value, table: &str, key: &str) -> i64 {
    let mut v = counts(m, table);
    for part in key.split('.') {
        v = &v[part];
    }
    // A missing key is a mistake (in the manifest or in the test), never 0.
    v.as_i64()
        .unwrap_or_else(|| panic!("manifest has no count tables.{table}.{key}: {v}"))
}

/// Asserts rows_read = what was written and every row is accounted for.
pub fn assert_balanced(m: &serde_json::Value, fx: &Fixture) {
    for (t, n) in fx.rows() {
        let c = counts(m, t);
        let sum = |key: &str| -> i64 {
            c[key]
                .as_object()
                .map(|o| o.values().map(|v| v.as_i64().unwrap()).sum())
                .unwrap_or(0)
        };
        let read = c["rows_read"].as_i64().unwrap();
        assert_eq!(read, n as i64, "{t}: rows_read");
        let accounted = c["rows_used"].as_i64().unwrap()
            + sum("rejected")
            + sum("orphaned")
            + c["after_as_of"].as_i64().unwrap_or(0)
            + c["not_yet_customers"].as_i64().unwrap_or(0)
            + c["excluded_by_filter"].as_i64().unwrap_or(0);
        assert_eq!(accounted, read, "{t}: every row accounted for: {c}");
    }
}
