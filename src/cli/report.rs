//! What the commands print on stdout: the text summary and the JSON object
//! of `run`, a backfill and `check`.

use chrono::NaiveDate;

use crate::commands::backfill;
use crate::commands::run;
use crate::commands::Outcome;
use crate::error::Error;
use crate::input::accounting::TableCounts;
use crate::output as snapshot;
use crate::pipeline::{Pipeline, Settings};
use crate::storage::Store;

pub fn backfill_outcome(output: &Store, run_id: &str, r: &backfill::BackfillResult) -> Outcome {
    let count = |a: backfill::Action| r.dates.iter().filter(|d| d.action == a).count();
    let (scored, skipped, cascaded) = (
        count(backfill::Action::Scored),
        count(backfill::Action::Skipped),
        count(backfill::Action::Cascaded),
    );
    let mut text = format!(
        "run {run_id}: {} dates into {}: {scored} scored, {skipped} skipped (up to date), {cascaded} rescored by cascade\n",
        r.dates.len(),
        output.url()
    );
    for d in &r.dates {
        let accounts = d
            .accounts
            .map(|n| format!(", {n} accounts"))
            .unwrap_or_default();
        text.push_str(
            &format!("  {} {:?}: {}{accounts}\n", d.date, d.action, d.reason).to_lowercase(),
        );
    }
    // The last scored date's figures at the top level, as for a one-date
    // run (the metrics file and schedulers read them).
    let mut json = match &r.last {
        Some((date, last)) => run_outcome(output, *date, last).json,
        None => serde_json::json!({"run_id": run_id, "output": output.url()}),
    };
    json["dates"] = serde_json::to_value(&r.dates).unwrap_or_default();
    json["scored"] = scored.into();
    json["skipped"] = skipped.into();
    json["cascaded"] = cascaded.into();
    Outcome {
        text: text.trim_end().to_string(),
        json,
    }
}

fn percent(n: i64, of: i64) -> String {
    if of <= 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * n as f64 / of as f64)
    }
}

/// One table's lines of the check report: rows read and used, dates,
/// rejected and orphaned rows with their shares beside the guards, nulls.
fn table_lines(t: &str, c: &TableCounts, s: &Settings, as_of: NaiveDate) -> String {
    let mut text = String::new();
    let scope = c.rows_in_scope();
    let dates = match (&c.earliest_event_date, &c.latest_event_date) {
        (Some(a), Some(b)) => format!(", dated {a} to {b}"),
        _ => String::new(),
    };
    text.push_str(&format!(
        "\n{t}: {} rows read, {} used{dates}",
        c.rows_read, c.rows_used
    ));
    if c.not_yet_customers.is_none() {
        text.push_str(&format!("\n  after as-of: {}", c.after_as_of));
    }
    let rejected: Vec<String> = c
        .rejected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let of_rows = if c.not_yet_customers.is_some() {
        format!("{scope} rows")
    } else {
        format!("{scope} rows dated on or before {as_of}")
    };
    text.push_str(&format!(
        "\n  rejected: {} ({} of {of_rows}; max_rejected_share {:.2}%)",
        if rejected.is_empty() {
            "none".to_string()
        } else {
            rejected.join(", ")
        },
        percent(c.rejected_total(), scope),
        s.max_rejected_share * 100.0,
    ));
    if c.not_yet_customers.is_none() {
        let orphaned: Vec<String> = c.orphaned.iter().map(|(r, n)| format!("{r} {n}")).collect();
        text.push_str(&format!(
            "\n  orphaned: {} ({}; max_orphaned_share {:.2}%)",
            orphaned.join(", "),
            percent(c.orphaned_total(), scope),
            s.max_orphaned_share * 100.0,
        ));
    }
    if let Some(n) = c.not_yet_customers {
        text.push_str(&format!(
            "\n  not yet customers: {n}; excluded by filter: {}",
            c.excluded_by_filter.unwrap_or(0)
        ));
    }
    if let (Some(expired), Some(superseded)) = (c.expired, c.superseded) {
        text.push_str(&format!(
            "\n  overrides applied: {}; expired: {expired}; superseded by a later override: {superseded}",
            c.rows_used
        ));
    }
    if !c.nulls.is_empty() {
        let parts: Vec<String> = c
            .nulls
            .iter()
            .map(|(col, n)| format!("{col} {}", percent(*n, c.rows_used)))
            .collect();
        text.push_str(&format!("\n  nulls among rows used: {}", parts.join(", ")));
    }
    text
}

/// One table's counts in the check report's JSON, with the shares.
fn table_json(c: &TableCounts) -> serde_json::Value {
    let scope = c.rows_in_scope();
    let null_shares: serde_json::Map<String, serde_json::Value> = c
        .nulls
        .iter()
        .map(|(col, n)| {
            let share = (c.rows_used > 0).then(|| *n as f64 / c.rows_used as f64);
            (col.clone(), serde_json::json!(share))
        })
        .collect();
    let mut j = serde_json::to_value(c).unwrap_or_default();
    j["earliest_event_date"] = serde_json::json!(c.earliest_event_date);
    j["latest_event_date"] = serde_json::json!(c.latest_event_date);
    j["rejected_share"] =
        serde_json::json!((scope > 0).then(|| c.rejected_total() as f64 / scope as f64));
    j["orphaned_share"] =
        serde_json::json!((scope > 0).then(|| c.orphaned_total() as f64 / scope as f64));
    j["null_shares"] = serde_json::Value::Object(null_shares);
    j
}

/// `healthscore check`'s report: per table its rows, date range, rows
/// rejected and orphaned by rule (with their share of the rows dated on or
/// before D next to the guard), and the null shares of optional columns
/// among the rows used. Counts and column names only, never a value.
pub fn check_report(
    p: &Pipeline,
    checked: &crate::aggregate::read::Checked,
    as_of: NaiveDate,
    refused: Option<&Error>,
) -> Outcome {
    let s = &p.settings;
    let mut text = match refused {
        None => format!(
            "check {as_of} with {}: inputs pass the contract and the data guards; nothing written",
            p.model_version()
        ),
        Some(_) => format!(
            "check {as_of} with {}: a data guard refuses the inputs (see the error); nothing written",
            p.model_version()
        ),
    };
    let mut tables = serde_json::Map::new();
    for (t, c) in &checked.counts {
        text.push_str(&table_lines(t, c, s, as_of));
        tables.insert(t.clone(), table_json(c));
    }
    if let Some(t) = &s.lag_table {
        text.push_str(&format!(
            "\nfreshness: {t} latest event date {}, must be on or after {} (max_lag_days {})",
            checked
                .counts
                .get(t)
                .and_then(|c| c.latest_event_date.clone())
                .unwrap_or_else(|| "none".into()),
            as_of - chrono::Duration::days(s.max_lag_days),
            s.max_lag_days
        ));
    }
    Outcome {
        text,
        json: serde_json::json!({
            "as_of": as_of.to_string(),
            "pipeline": p.model_version(),
            "guards": {
                "max_rejected_share": s.max_rejected_share,
                "max_orphaned_share": s.max_orphaned_share,
                "max_lag_days": s.max_lag_days,
                "lag_table": s.lag_table,
            },
            "tables": tables,
            "stages_ms": checked.stages.to_map(),
        }),
    }
}

/// `healthscore run`'s summary: bands, warnings, trend, counts.
pub fn run_outcome(output: &Store, as_of: NaiveDate, r: &run::RunResult) -> Outcome {
    let m = &r.manifest;
    let mut text = format!(
        "run {} for {as_of}: {} accounts scored with {} → {}\n",
        m.run_id,
        m.accounts.as_ref().map_or(0, |a| a.scored),
        m.pipeline.model_version,
        output.url_of(&snapshot::date_folder(snapshot::SCORES, as_of)),
    );
    if let Some(accounts) = &m.accounts {
        let parts: Vec<String> = accounts
            .by_band
            .iter()
            .map(|(b, n)| format!("{b} {n}"))
            .collect();
        text.push_str(&format!("  bands: {}\n", parts.join(", ")));
    }
    if let Some(changes) = &m.changes {
        let parts: Vec<String> = crate::score::changes::KINDS
            .iter()
            .map(|k| format!("{k} {}", changes.get(*k).copied().unwrap_or(0)))
            .collect();
        text.push_str(&format!("  changes: {}\n", parts.join(", ")));
    }
    if let Some(n) = m.bands_held.filter(|n| *n > 0) {
        text.push_str(&format!("  bands held by hysteresis: {n}\n"));
    }
    for w in m.warnings.iter().flatten() {
        text.push_str(&format!("  warning: {w}\n"));
    }
    if let Some(prev) = &m.previous_snapshot {
        text.push_str(&format!("  trend against {prev}\n"));
    } else {
        text.push_str("  no previous snapshot: trend is new\n");
    }
    let mut j = serde_json::json!({
        "run_id": m.run_id,
        "as_of": as_of.to_string(),
        "output": output.url(),
        "accounts": m.accounts,
        "tables": m.tables,
        "stages_ms": m.stages_ms,
        "outputs": m.outputs,
        "previous_snapshot": m.previous_snapshot,
        "changes": m.changes,
        "bands_held": m.bands_held,
        "warnings": m.warnings,
    });
    for (t, c) in &m.tables {
        let mut extras = Vec::new();
        for (key, map) in [("rejected", &c.rejected), ("orphaned", &c.orphaned)] {
            for (r, n) in map.iter().filter(|(_, n)| **n > 0) {
                extras.push(format!("{key} {r} {n}"));
            }
        }
        for (key, n) in [
            ("after_as_of", Some(c.after_as_of)),
            ("not_yet_customers", c.not_yet_customers),
            ("excluded_by_filter", c.excluded_by_filter),
            ("expired", c.expired),
            ("superseded", c.superseded),
        ] {
            if let Some(n) = n.filter(|n| *n > 0) {
                extras.push(format!("{key} {n}"));
            }
        }
        if !extras.is_empty() {
            text.push_str(&format!("  {t}: {}\n", extras.join(", ")));
        }
    }
    j["summary"] = serde_json::json!(r.summary.height());
    Outcome {
        text: text.trim_end().to_string(),
        json: j,
    }
}
