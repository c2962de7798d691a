//! SPEC §3/§7 row accounting: the accepted accounts (unique ids, signed up
//! by D, passing the account filter), every other table's rows counted
//! once (after-as-of, orphans, rejections by rule, used), and the data
//! guards that refuse a run before anything is written.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contract::TENURE_DAYS;
use crate::error::{escaped, pl, Error, Result};
use crate::input::rules::{self as metrics, AFTER, MAX_DAY, ROWS};
use crate::input::{self as source, OpenTable};
use crate::pipeline::Pipeline;
use crate::time::date_of;

/// Row accounting of one table (SPEC §7), as in the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TableCounts {
    /// Rows in the table's objects.
    pub rows_read: i64,
    /// Rows dated after D, dropped before validation.
    pub after_as_of: i64,
    /// Rejected rows per rule.
    pub rejected: BTreeMap<String, i64>,
    /// Orphaned rows: `null_customer_id`, `unknown_customer_id`.
    pub orphaned: BTreeMap<String, i64>,
    /// Rows that fed the metrics (or accounts scored).
    pub rows_used: i64,
    /// accounts only: signed up after D.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_yet_customers: Option<i64>,
    /// accounts only: excluded by the pipeline's account filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_by_filter: Option<i64>,
    /// overrides only: valid rows whose expires_on is before D.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired: Option<i64>,
    /// overrides only: valid rows in force on D that a later override of
    /// the same account replaces (SPEC §11 precedence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded: Option<i64>,
    /// Latest event date among the rows used.
    pub latest_event_date: Option<String>,
    /// Earliest event date among the rows used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_event_date: Option<String>,
    /// Nulls of each optional (nullable) contract column among the rows
    /// used (accounts: name, segment, signup_date, seats,
    /// onboarding_completion_pct; support_tickets: closed_at).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nulls: BTreeMap<String, i64>,
}

impl TableCounts {
    /// Rows dated on or before D (the base of the guard shares).
    pub fn rows_in_scope(&self) -> i64 {
        self.rows_read - self.after_as_of
    }
    /// All rejected rows.
    pub fn rejected_total(&self) -> i64 {
        self.rejected.values().sum()
    }
    /// All orphaned rows.
    pub fn orphaned_total(&self) -> i64 {
        self.orphaned.values().sum()
    }
    /// Valid rows not used for another reason than a window: overrides
    /// expired or superseded.
    pub fn set_aside_total(&self) -> i64 {
        self.expired.unwrap_or(0) + self.superseded.unwrap_or(0)
    }
}

/// Accepted accounts, the set of known ids, and the accounts' row counts.
pub fn accept_accounts(
    p: &Pipeline,
    t: &OpenTable,
    d: i32,
) -> Result<(DataFrame, DataFrame, TableCounts)> {
    let all = source::collect_streaming(t.frame.clone()).map_err(|e| {
        let fallback = Error::Corrupt {
            url: t
                .objects
                .first()
                .map(|o| o.path.clone())
                .unwrap_or_default(),
            message: e.to_string(),
        };
        source::unreadable_object(&[t], fallback)
    })?;
    let rows_read = all.height() as i64;
    let null_ids = all
        .column("customer_id")
        .map_err(pl("accounts"))?
        .null_count() as i64;
    let with_id = all
        .lazy()
        .filter(col("customer_id").is_not_null())
        .collect()
        .map_err(pl("accounts"))?;
    // Exports are usually sorted by id: strictly ascending ids are unique
    // without a hash group-by.
    if !ids_strictly_ascending(&with_id).map_err(pl("accounts"))? {
        refuse_duplicate_ids(&with_id)?;
    }
    let known = with_id
        .clone()
        .lazy()
        .select([col("customer_id"), lit(true).alias("__known")])
        .collect()
        .map_err(pl("accounts"))?;
    let not_yet = col("signup_date").gt(lit(d)).fill_null(lit(false));
    let not_yet_n = with_id
        .clone()
        .lazy()
        .select([not_yet.clone().cast(DataType::Int64).sum().alias("n")])
        .collect()
        .map_err(pl("accounts"))?;
    let not_yet_n = scalar_i64(&not_yet_n, "n");
    let mut current = with_id.lazy().filter(not_yet.not());
    let mut excluded = 0;
    if let Some(f) = &p.accounts.filter {
        let keep = f.expr.clone().fill_null(lit(false));
        let n = current
            .clone()
            .select([keep.clone().not().cast(DataType::Int64).sum().alias("n")])
            .collect()
            .map_err(|e| {
                Error::contract(
                    "accounts",
                    None,
                    format!("accounts.filter `{}` cannot be evaluated: {e}", f.text),
                )
            })?;
        excluded = scalar_i64(&n, "n");
        current = current.filter(keep);
    }
    let accepted = current
        .with_column(
            (lit(d) - col("signup_date"))
                .cast(DataType::Int32)
                .alias(TENURE_DAYS),
        )
        .collect()
        .map_err(pl("accounts"))?;
    let counts = TableCounts {
        rows_read,
        after_as_of: 0,
        rejected: [("null_customer_id".to_string(), null_ids)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
        orphaned: BTreeMap::new(),
        rows_used: accepted.height() as i64,
        not_yet_customers: Some(not_yet_n),
        excluded_by_filter: Some(excluded),
        expired: None,
        superseded: None,
        latest_event_date: None,
        earliest_event_date: None,
        nulls: metrics::optional_columns(&t.table, &t.columns)
            .into_iter()
            .filter_map(|c| {
                let n = accepted.column(&c).ok()?.null_count() as i64;
                Some((c, n))
            })
            .collect(),
    };
    Ok((accepted, known, counts))
}

/// Stops the run when an accounts id appears more than once, naming up
/// to five of them.
fn refuse_duplicate_ids(with_id: &DataFrame) -> Result<()> {
    let dups = with_id
        .clone()
        .lazy()
        .group_by([col("customer_id")])
        .agg([len().alias("n")])
        .filter(col("n").gt(lit(1)))
        .sort(["customer_id"], SortMultipleOptions::default())
        .collect()
        .map_err(pl("accounts"))?;
    if dups.height() > 0 {
        let examples: Vec<String> = dups
            .column("customer_id")
            .map_err(pl("accounts"))?
            .str()
            .map_err(pl("accounts"))?
            .iter()
            .take(5)
            .flatten()
            .map(str::to_string)
            .collect();
        return Err(duplicate_ids(dups.height(), &examples));
    }
    Ok(())
}

/// The error for an accounts table whose ids appear more than once:
/// `count` such ids, the first of them (in id order) as `examples`.
pub fn duplicate_ids(count: usize, examples: &[String]) -> Error {
    let examples: Vec<String> = examples.iter().take(5).map(|e| escaped(e)).collect();
    Error::contract(
        "accounts",
        Some("customer_id"),
        format!(
            "table accounts: column customer_id must be unique; {count} ids appear more than once, e.g. {}. Deduplicate the accounts export",
            examples.join(", ")
        ),
    )
}

/// Sums a table's group-by into its row accounting.
pub fn table_counts(
    g: &DataFrame,
    known: &DataFrame,
    rules: &[String],
    optional: &[String],
) -> Result<TableCounts> {
    let scope = col(ROWS) - col(AFTER);
    let is_known = col("__known").fill_null(lit(false));
    let mut exprs = vec![
        col(ROWS).sum().alias("rows_read"),
        col(AFTER).sum().alias("after_as_of"),
        scope
            .clone()
            .filter(col("customer_id").is_null())
            .sum()
            .alias("orphan_null"),
        scope
            .filter(col("customer_id").is_not_null().and(is_known.clone().not()))
            .sum()
            .alias("orphan_unknown"),
        col(MAX_DAY)
            .filter(is_known.clone())
            .max()
            .cast(DataType::Int64)
            .alias("max_day"),
        col(metrics::MIN_DAY)
            .filter(is_known.clone())
            .min()
            .cast(DataType::Int64)
            .alias("min_day"),
    ];
    for c in optional {
        exprs.push(
            col(metrics::nulls_column(c))
                .filter(is_known.clone())
                .sum()
                .alias(metrics::nulls_column(c)),
        );
    }
    for r in rules {
        exprs.push(
            col(metrics::rule_column(r))
                .filter(is_known.clone())
                .sum()
                .alias(r.as_str()),
        );
    }
    let s = g
        .clone()
        .lazy()
        .join(
            known.clone().lazy(),
            [col("customer_id")],
            [col("customer_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select(exprs)
        .collect()
        .map_err(pl("counting rows"))?;
    let mut c = TableCounts {
        rows_read: scalar_i64(&s, "rows_read"),
        after_as_of: scalar_i64(&s, "after_as_of"),
        ..Default::default()
    };
    for r in rules {
        let n = scalar_i64(&s, r);
        if n > 0 {
            c.rejected.insert(r.clone(), n);
        }
    }
    c.orphaned
        .insert("null_customer_id".into(), scalar_i64(&s, "orphan_null"));
    c.orphaned.insert(
        "unknown_customer_id".into(),
        scalar_i64(&s, "orphan_unknown"),
    );
    c.rows_used = c.rows_in_scope() - c.rejected_total() - c.orphaned_total();
    let day = |name: &str| {
        s.column(name)
            .ok()
            .and_then(|col| col.get(0).ok())
            .and_then(|v| v.extract::<i64>())
            .map(|d| date_of(d as i32).to_string())
    };
    c.latest_event_date = day("max_day");
    c.earliest_event_date = day("min_day");
    for o in optional {
        c.nulls
            .insert(o.clone(), scalar_i64(&s, &metrics::nulls_column(o)));
    }
    Ok(c)
}

/// The data guards of SPEC §7: rejected share, orphaned share, export lag.
pub fn check_guards(
    p: &Pipeline,
    counts: &BTreeMap<String, TableCounts>,
    as_of: NaiveDate,
) -> Result<()> {
    let s = &p.settings;
    for (table, c) in counts {
        let scope = c.rows_in_scope().max(0);
        if scope == 0 {
            continue;
        }
        let rejected = c.rejected_total() as f64 / scope as f64;
        if rejected > s.max_rejected_share {
            let rules: Vec<String> = c
                .rejected
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            return Err(Error::Guard {
                table: table.clone(),
                message: format!(
                    "table {table}: {} of {scope} rows dated on or before {as_of} were rejected ({:.2}%), above max_rejected_share {:.2}% ({}). Fix the export or raise settings.max_rejected_share; nothing was written",
                    c.rejected_total(),
                    rejected * 100.0,
                    s.max_rejected_share * 100.0,
                    rules.join(", ")
                ),
            });
        }
        let orphaned = c.orphaned_total() as f64 / scope as f64;
        if orphaned > s.max_orphaned_share {
            return Err(Error::Guard {
                table: table.clone(),
                message: format!(
                    "table {table}: {} of {scope} rows have a null or unknown customer_id ({:.2}%), above max_orphaned_share {:.2}% (null: {}, unknown: {}). Check that customer_id matches accounts.customer_id (padding, re-keying); nothing was written",
                    c.orphaned_total(),
                    orphaned * 100.0,
                    s.max_orphaned_share * 100.0,
                    c.orphaned.get("null_customer_id").unwrap_or(&0),
                    c.orphaned.get("unknown_customer_id").unwrap_or(&0),
                ),
            });
        }
    }
    if let Some(t) = &s.lag_table {
        let latest = counts.get(t).and_then(|c| c.latest_event_date.clone());
        let limit = as_of - chrono::Duration::days(s.max_lag_days);
        let fresh = latest
            .as_deref()
            .and_then(|l| NaiveDate::parse_from_str(l, "%Y-%m-%d").ok())
            .is_some_and(|l| l >= limit);
        if !fresh {
            let found = match (latest, counts.get(t)) {
                (Some(l), _) => format!("latest event date is {l}"),
                (None, Some(c)) => format!(
                    "0 rows used on or before {as_of} ({} read, {} after as-of)",
                    c.rows_read, c.after_as_of
                ),
                (None, None) => "no rows".to_string(),
            };
            return Err(Error::Guard {
                table: t.clone(),
                message: format!(
                    "table {t}: {found}, expected an event on or after {limit} (as-of {as_of} minus max_lag_days {}). The export looks stalled; rerun when it has caught up, or pass an earlier --as-of",
                    s.max_lag_days
                ),
            });
        }
    }
    Ok(())
}

/// The `max_rows_drop` guard (SPEC §7): a table whose rows_used fell below
/// (1 − max_rows_drop) of the previous committed snapshot's (`previous`,
/// of `prev_date`, same model) is a truncated or empty export, refused
/// before anything is written. Tables the previous snapshot did not read
/// are not compared.
pub fn check_rows_drop(
    p: &Pipeline,
    counts: &BTreeMap<String, TableCounts>,
    previous: &BTreeMap<String, TableCounts>,
    prev_date: &str,
) -> Result<()> {
    let keep = 1.0 - p.settings.max_rows_drop;
    for (table, c) in counts {
        let Some(before) = previous.get(table) else {
            continue;
        };
        let floor = before.rows_used as f64 * keep;
        if before.rows_used > 0 && (c.rows_used as f64) < floor {
            return Err(Error::Guard {
                table: table.clone(),
                message: format!(
                    "table {table}: {} rows used, below {:.0}% of the {} used by the previous snapshot ({prev_date}); settings.max_rows_drop is {}. The export looks truncated or empty: fix it, or raise settings.max_rows_drop when the drop is real; nothing was written",
                    c.rows_used,
                    keep * 100.0,
                    before.rows_used,
                    p.settings.max_rows_drop
                ),
            });
        }
    }
    Ok(())
}

/// The first value of a one-row frame's `column` as an integer (0 when
/// it is missing or null).
pub(crate) fn scalar_i64(df: &DataFrame, column: &str) -> i64 {
    df.column(column)
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<i64>())
        .unwrap_or(0)
}

/// Whether `df`'s customer_id column is strictly ascending (so sorted and
/// unique): one pass of comparisons with the previous row.
pub fn ids_strictly_ascending(df: &DataFrame) -> PolarsResult<bool> {
    if df.height() < 2 {
        return Ok(true);
    }
    let ids = df.column("customer_id")?.as_materialized_series();
    if let Ok(Some(ascending)) = crate::arrow_views::strictly_ascending(ids) {
        return Ok(ascending);
    }
    // With nulls (or not text): neighbours compared where both are ids.
    let ids = col("customer_id");
    let in_order = df
        .select(["customer_id"])?
        .lazy()
        .select([ids
            .clone()
            .gt(ids.shift(lit(1)))
            .all(true)
            .alias("in_order")])
        .collect()?;
    Ok(in_order
        .column("in_order")?
        .get(0)?
        .extract_bool()
        .unwrap_or(false))
}
