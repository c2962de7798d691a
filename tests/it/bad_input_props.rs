//! Property test of the bad-input handling (SPEC §7): valid exports are
//! mutated at random (values nulled or made negative, ids changed, dates
//! shifted across D, rows dropped or duplicated, odd kinds, priorities and
//! scores, a column of the wrong type, a truncated file, guard settings
//! changed, a line of the pipeline deleted) and the real binary is run on them. Every run must
//! end without a panic with exit 0, 1 or 2, print no customer name, and,
//! when it succeeds, account for every row written: rows_used + rejected +
//! orphaned + after_as_of (+ not_yet_customers for accounts) = rows_read =
//! the rows planted. A reference model of §3/§7 written here predicts the
//! exit code and every count, which the manifest must match exactly.
//!
//! 64 cases (each runs the binary once); set PROPTEST_CASES to change.

use crate::bad_fixture as fixture;
use crate::common;
use std::collections::{BTreeMap, BTreeSet};

use common::*;
use fixture::*;
use polars::prelude::*;
use proptest::prelude::*;

/// One random change to the rows.
#[derive(Debug, Clone)]
struct Mutation {
    kind: u8,
    table: usize,
    row: usize,
    field: usize,
    param: i64,
}

/// A change to how a table is written (its schema).
#[derive(Debug, Clone, Copy)]
enum Schema {
    AsIs,
    EventsAsString,
    DateAsString,
    FeatureDropped,
    ScoreAsInt8,
    MrrAsFloat32,
    UsageIdCategorical,
    /// The revenue file cut in half (a storage error, exit 1).
    RevenueTruncated,
}

/// A change to the pipeline file.
#[derive(Debug, Clone)]
struct Settings {
    max_rejected_share: f64,
    max_orphaned_share: f64,
    max_lag_days: i64,
    delete_line: Option<usize>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (0u8..7, 0usize..5, 0usize..10_000, 0usize..6, -40i64..200).prop_map(
        |(kind, table, row, field, param)| Mutation {
            kind,
            table,
            row,
            field,
            param,
        },
    )
}

fn schema() -> impl Strategy<Value = Schema> {
    prop_oneof![
        8 => Just(Schema::AsIs),
        1 => Just(Schema::EventsAsString),
        1 => Just(Schema::DateAsString),
        1 => Just(Schema::FeatureDropped),
        1 => Just(Schema::ScoreAsInt8),
        1 => Just(Schema::MrrAsFloat32),
        1 => Just(Schema::UsageIdCategorical),
        1 => Just(Schema::RevenueTruncated),
    ]
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop::sample::select(vec![0.01, 0.05, 0.5]),
        prop::sample::select(vec![0.05, 0.5]),
        prop::sample::select(vec![3i64, 10]),
        prop::option::weighted(0.1, 0usize..400),
    )
        .prop_map(|(r, o, l, d)| Settings {
            max_rejected_share: r,
            max_orphaned_share: o,
            max_lag_days: l,
            delete_line: d,
        })
}

fn negative_i(v: Option<i64>) -> Option<i64> {
    v.map(|v| -(v.abs() + 1))
}

fn negative_f(v: Option<f64>) -> Option<f64> {
    v.map(|v| -(v.abs() + 0.5))
}

fn shift(v: Option<i64>, days: i64) -> Option<i64> {
    v.map(|d| d + days)
}

fn pick(options: &[&str], param: i64) -> Option<String> {
    o(options[param.rem_euclid(options.len() as i64) as usize])
}

fn new_id(fx: &Fixture, param: i64) -> Option<String> {
    match param.rem_euclid(4) {
        0 => None,
        1 => o("Z-unknown"),
        2 => o(" A001"),
        _ => fx
            .accounts
            .get(param.rem_euclid(fx.accounts.len().max(1) as i64) as usize)
            .and_then(|a| a.id.clone()),
    }
}

/// Applies one mutation (a no-op on an empty table).
fn apply(fx: &mut Fixture, m: &Mutation) {
    let len = match m.table {
        0 => fx.accounts.len(),
        1 => fx.usage.len(),
        2 => fx.tickets.len(),
        3 => fx.surveys.len(),
        _ => fx.revenue.len(),
    };
    if len == 0 {
        return;
    }
    let i = m.row % len;
    let p = m.param;
    let id = new_id(fx, p);
    macro_rules! rows {
        ($v:expr) => {{
            match m.kind {
                5 => {
                    $v.remove(i);
                    return;
                }
                6 => {
                    let r = $v[i].clone();
                    $v.push(r);
                    return;
                }
                _ => &mut $v[i],
            }
        }};
    }
    match m.table {
        0 => {
            let r = rows!(fx.accounts);
            match (m.kind, m.field % 6) {
                (0, 0) | (2, _) => r.id = id,
                (0, 1) => r.name = None,
                (0, 2) => r.segment = None,
                (0, 3) => r.signup = None,
                (0, 4) => r.seats = None,
                (0, _) => r.pct = None,
                (1, f) if f % 2 == 0 => r.seats = negative_i(r.seats),
                (1, _) => r.pct = negative_f(r.pct),
                (3, _) => r.signup = shift(r.signup, -p.abs() / 2 - 1),
                _ => r.pct = Some(f64::NAN),
            }
        }
        1 => {
            let r = rows!(fx.usage);
            match (m.kind, m.field % 5) {
                (0, 0) | (2, _) => r.id = id,
                (0, 1) => r.day = None,
                (0, 2) => r.feature = None,
                (0, 3) => r.events = None,
                (0, _) => r.users = None,
                (1, f) if f % 2 == 0 => r.events = negative_i(r.events),
                (1, _) => r.users = negative_i(r.users),
                (3, _) => r.day = shift(r.day, p / 4),
                _ => r.feature = pick(&["login", "export", "Login"], p),
            }
        }
        2 => {
            let r = rows!(fx.tickets);
            match (m.kind, m.field % 5) {
                (0, 0) => r.ticket = None,
                (0, 1) | (2, _) => r.id = id,
                (0, 2) => r.opened = None,
                (0, 3) => r.closed = None,
                (0, _) => r.priority = None,
                (1, _) => r.closed = shift(r.opened, -1),
                (3, _) => r.opened = shift(r.opened, p),
                _ => r.priority = pick(&["low", "urgent", "Urgent", "p1", ""], p),
            }
        }
        3 => {
            let r = rows!(fx.surveys);
            match (m.kind, m.field % 4) {
                (0, 0) | (2, _) => r.id = id,
                (0, 1) => r.at = None,
                (0, 2) => r.kind = None,
                (0, _) => r.score = None,
                (1, _) => r.score = negative_i(r.score),
                (3, _) => r.at = shift(r.at, p),
                (_, f) if f % 2 == 0 => r.kind = pick(&["nps", "csat", "NPS", "ces"], p),
                _ => r.score = Some(p.rem_euclid(16) - 2),
            }
        }
        _ => {
            let r = rows!(fx.revenue);
            match (m.kind, m.field % 4) {
                (0, 0) | (2, _) => r.id = id,
                (0, 1) => r.month = None,
                (0, 2) => r.mrr = None,
                (0, _) => r.dpd = None,
                (1, f) if f % 2 == 0 => r.mrr = negative_f(r.mrr),
                (1, _) => r.dpd = negative_i(r.dpd),
                (3, _) => r.month = shift(r.month, p),
                _ => r.mrr = Some(f64::NAN),
            }
        }
    }
}

/// What SPEC §3/§7 say the run must report.
#[derive(Debug, Default, PartialEq, Clone)]
struct Expected {
    rows_read: i64,
    after_as_of: i64,
    rejected: BTreeMap<String, i64>,
    null_orphans: i64,
    unknown_orphans: i64,
    rows_used: i64,
    not_yet: i64,
    /// Latest valid day, as days before D.
    latest: Option<i64>,
}

impl Expected {
    fn reject(&mut self, rule: Option<&str>, day: Option<i64>) {
        match rule {
            Some(r) => *self.rejected.entry(r.to_string()).or_default() += 1,
            None => {
                self.rows_used += 1;
                if let Some(d) = day {
                    self.latest = Some(self.latest.map_or(d, |l: i64| l.min(d)));
                }
            }
        }
    }
}

/// Days before D of the first day of the month of the day `d` days before D.
fn month_start(d: i64) -> i64 {
    use chrono::Datelike;
    let date = day(d);
    (day(0) - date.with_day(1).unwrap()).num_days()
}

/// The rule a row of an event table breaks, or `after`/orphan, in SPEC §7
/// order; `None` for a row that is used.
fn classify(
    e: &mut Expected,
    known: &BTreeSet<String>,
    id: &Option<String>,
    day: Option<i64>,
    rules: &[(&str, bool)],
) {
    e.rows_read += 1;
    if day.is_some_and(|d| d < 0) {
        e.after_as_of += 1;
        return;
    }
    match id {
        None => e.null_orphans += 1,
        Some(i) if !known.contains(i) => e.unknown_orphans += 1,
        _ => {
            let rule = rules.iter().find(|(_, broken)| *broken).map(|(r, _)| *r);
            e.reject(rule, day);
        }
    }
}

/// The exit code and counts the reference model predicts.
fn predict(fx: &Fixture, s: &Settings) -> (i32, BTreeMap<&'static str, Expected>) {
    let mut out = BTreeMap::new();
    let mut acc = Expected::default();
    let mut known = BTreeSet::new();
    let mut duplicate = false;
    for a in &fx.accounts {
        acc.rows_read += 1;
        match &a.id {
            None => acc.reject(Some("null_customer_id"), None),
            Some(i) => {
                duplicate |= !known.insert(i.clone());
                if a.signup.is_some_and(|d| d < 0) {
                    acc.not_yet += 1;
                } else {
                    acc.rows_used += 1;
                }
            }
        }
    }
    out.insert("accounts", acc);

    let mut usage = Expected::default();
    for u in &fx.usage {
        let neg = |v: Option<i64>| v.is_some_and(|v| v < 0);
        classify(
            &mut usage,
            &known,
            &u.id,
            u.day,
            &[
                ("null_date", u.day.is_none()),
                ("null_feature", u.feature.is_none()),
                ("null_events", u.events.is_none()),
                ("null_users", u.users.is_none()),
                ("negative_events", neg(u.events)),
                ("negative_users", neg(u.users)),
            ],
        );
    }
    out.insert("usage", usage);

    let mut tickets = Expected::default();
    for t in &fx.tickets {
        let priority_ok = t
            .priority
            .as_deref()
            .is_some_and(|p| ["low", "normal", "high", "urgent"].contains(&p));
        classify(
            &mut tickets,
            &known,
            &t.id,
            t.opened,
            &[
                ("null_ticket_id", t.ticket.is_none()),
                ("null_opened_at", t.opened.is_none()),
                ("null_priority", t.priority.is_none()),
                ("unknown_priority", !priority_ok),
            ],
        );
    }
    out.insert("support_tickets", tickets);

    let mut surveys = Expected::default();
    for r in &fx.surveys {
        let kind = r.kind.as_deref();
        let score = r.score.unwrap_or(0);
        classify(
            &mut surveys,
            &known,
            &r.id,
            r.at,
            &[
                ("null_responded_at", r.at.is_none()),
                ("null_kind", r.kind.is_none()),
                ("null_score", r.score.is_none()),
                (
                    "nps_out_of_range",
                    kind == Some("nps") && !(0..=10).contains(&score),
                ),
                (
                    "csat_out_of_range",
                    kind == Some("csat") && !(1..=5).contains(&score),
                ),
                ("unknown_kind", !matches!(kind, Some("nps" | "csat"))),
            ],
        );
    }
    out.insert("survey_responses", surveys);

    let mut revenue = Expected::default();
    for r in &fx.revenue {
        let mrr = r.mrr.filter(|v| !v.is_nan());
        classify(
            &mut revenue,
            &known,
            &r.id,
            r.month.map(month_start),
            &[
                ("null_month", r.month.is_none()),
                ("null_mrr", mrr.is_none()),
                ("null_days_past_due", r.dpd.is_none()),
                ("negative_mrr", mrr.is_some_and(|v| v < 0.0)),
                ("negative_days_past_due", r.dpd.is_some_and(|v| v < 0)),
            ],
        );
    }
    out.insert("revenue", revenue);

    if duplicate {
        return (2, out);
    }
    let mut code = 0;
    for e in out.values() {
        let scope = e.rows_read - e.after_as_of;
        if scope == 0 {
            continue;
        }
        let rejected: i64 = e.rejected.values().sum();
        let orphaned = e.null_orphans + e.unknown_orphans;
        if rejected as f64 / scope as f64 > s.max_rejected_share
            || orphaned as f64 / scope as f64 > s.max_orphaned_share
        {
            code = 2;
        }
    }
    if out["usage"].latest.is_none_or(|l| l > s.max_lag_days) {
        code = 2;
    }
    (code, out)
}

fn pipeline_text(s: &Settings) -> String {
    let text = default_pipeline_with(&[
        ("max_rejected_share", &s.max_rejected_share.to_string()),
        ("max_orphaned_share", &s.max_orphaned_share.to_string()),
        ("max_lag_days", &s.max_lag_days.to_string()),
    ]);
    match s.delete_line {
        None => text,
        Some(i) => {
            let lines: Vec<&str> = text.lines().collect();
            let i = i % lines.len();
            let mut kept = lines.clone();
            kept.remove(i);
            kept.join("\n")
        }
    }
}

fn write(fx: &Fixture, dir: &std::path::Path, schema: Schema) {
    fx.write_with(dir, |t, df| match (schema, t) {
        (Schema::EventsAsString, "usage") => recast(df, "events", DataType::String),
        (Schema::DateAsString, "usage") => recast(df, "date", DataType::String),
        (Schema::FeatureDropped, "usage") => without(df, "feature"),
        (Schema::UsageIdCategorical, "usage") => recast(
            df,
            "customer_id",
            DataType::from_categories(Categories::global()),
        ),
        (Schema::ScoreAsInt8, "survey_responses") => recast(df, "score", DataType::Int8),
        (Schema::MrrAsFloat32, "revenue") => recast(df, "mrr", DataType::Float32),
        _ => df,
    });
    if matches!(schema, Schema::RevenueTruncated) {
        let file = dir.join("revenue/part-0.parquet");
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    }
}

fn check_case(
    n: usize,
    mutations: &[Mutation],
    schema: Schema,
    settings: &Settings,
) -> Result<(), TestCaseError> {
    let mut fx = Fixture::valid(n);
    for m in mutations {
        apply(&mut fx, m);
    }
    if matches!(schema, Schema::MrrAsFloat32) {
        // Keep every value exact in f32 so the model's counts hold.
        for r in &mut fx.revenue {
            r.mrr = r.mrr.map(|v| if v.is_nan() { v } else { v.round() });
        }
    }
    let case = Case::new(&pipeline_text(settings));
    write(&fx, &case.input(), schema);
    let r = case.run(&[]);
    prop_assert!(
        [0, 1, 2].contains(&r.code),
        "exit {} \nstderr: {}",
        r.code,
        r.stderr
    );
    prop_assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    prop_assert!(
        !r.stderr.contains(SECRET_NAME) && !r.stdout.contains(SECRET_NAME),
        "a customer name was printed: {}",
        r.stderr
    );
    if r.code != 0 {
        prop_assert!(!case.out().exists(), "a refused run wrote output");
        prop_assert!(
            r.stderr.contains("healthscore: error:"),
            "no error message: {}",
            r.stderr
        );
    }
    if settings.delete_line.is_some() {
        // A pipeline missing a line is valid or a pipeline error; either way
        // the invariants above hold.
        let truncated = matches!(schema, Schema::RevenueTruncated);
        prop_assert!(r.code != 1 || truncated, "{}", r.stderr);
        if r.code == 0 {
            assert_balanced(&case.manifest(), &fx);
        }
        return Ok(());
    }
    let broken_schema = matches!(
        schema,
        Schema::EventsAsString | Schema::DateAsString | Schema::FeatureDropped
    );
    if matches!(schema, Schema::RevenueTruncated) {
        prop_assert_eq!(r.code, 1, "a truncated object: {}", r.stderr);
        prop_assert!(r.stderr.contains("revenue/part-0.parquet"), "{}", r.stderr);
        return Ok(());
    }
    if broken_schema {
        prop_assert_eq!(r.code, 2, "a column of the wrong type: {}", r.stderr);
        prop_assert!(r.stderr.contains("table usage"), "{}", r.stderr);
        return Ok(());
    }
    let (code, expected) = predict(&fx, settings);
    prop_assert_eq!(r.code, code, "stderr: {}", r.stderr);
    if code != 0 {
        return Ok(());
    }
    let m = case.manifest();
    assert_balanced(&m, &fx);
    for (t, e) in &expected {
        // accounts rows are never orphans (a null id is rejected) and only
        // accounts has not-yet-customers: those counts do not exist in the
        // manifest, and any other missing count fails the test.
        let is_accounts = *t == "accounts";
        let got = Expected {
            rows_read: count(&m, t, "rows_read"),
            after_as_of: count(&m, t, "after_as_of"),
            rejected: rejected(&m, t).into_iter().collect(),
            null_orphans: if is_accounts {
                0
            } else {
                count(&m, t, "orphaned.null_customer_id")
            },
            unknown_orphans: if is_accounts {
                0
            } else {
                count(&m, t, "orphaned.unknown_customer_id")
            },
            rows_used: count(&m, t, "rows_used"),
            not_yet: if is_accounts {
                count(&m, t, "not_yet_customers")
            } else {
                0
            },
            latest: counts(&m, t)["latest_event_date"].as_str().map(|s| {
                let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
                (day(0) - d).num_days()
            }),
        };
        prop_assert_eq!(&got, e, "table {}", t);
    }
    let scored = case.scores().height() as i64;
    prop_assert_eq!(
        scored,
        expected["accounts"].rows_used,
        "one row per account"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_inputs_never_panic_and_every_row_is_counted(
        n in 3usize..7,
        mutations in prop::collection::vec(mutation(), 0..10),
        schema in schema(),
        settings in settings(),
    ) {
        check_case(n, &mutations, schema, &settings)?;
    }
}
