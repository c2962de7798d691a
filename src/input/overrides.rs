//! SPEC §11 overrides: a CSM's band for an account, with why, who and
//! until when. The table's rows are accounted for like any other table's
//! (SPEC §7: after-as-of by set_on, orphans, then the rules `null_band`,
//! `null_reason`, `null_set_by`, `null_set_on`, `null_expires_on`,
//! `unknown_band`, `expires_before_set`), and each valid row is one of:
//! `expired` (expires_on < D), `superseded` (in force on D, but a later
//! override of the same account wins) or used (the override applied).
//! Precedence among the rows in force on D: the latest set_on, then the
//! latest expires_on, then band ascending.

use polars::prelude::*;

use crate::error::{pl, Result};
use crate::input::accounting::{scalar_i64, TableCounts};
use crate::input::{OpenTable, DAY};
use crate::pipeline::Pipeline;
use crate::time::date_of;

/// The rules of the overrides table, after the two orphan checks, in the
/// order a row is counted under the first it breaks.
pub const RULES: [&str; 7] = [
    "null_band",
    "null_reason",
    "null_set_by",
    "null_set_on",
    "null_expires_on",
    "unknown_band",
    "expires_before_set",
];

/// The applied override's band beside each account.
pub const OVERRIDE_BAND: &str = "__override_band";

/// The conditions of [`RULES`], in order.
fn rule_conditions(p: &Pipeline) -> Vec<Expr> {
    let bands: Vec<&str> = p
        .bands
        .iter()
        .map(|b| b.name.as_str())
        .chain(std::iter::once(p.unscored.name.as_str()))
        .collect();
    let known_band = bands
        .iter()
        .map(|b| col("band").eq(lit(*b)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false));
    vec![
        col("band").is_null(),
        col("reason").is_null(),
        col("set_by").is_null(),
        col(DAY).is_null(),
        col("expires_on").is_null(),
        known_band.not(),
        col("expires_on").lt(col(DAY)),
    ]
}

/// Each row's status: 0 valid, 1 null id, 2 unknown id, 3 + i rule i.
fn status(p: &Pipeline) -> Expr {
    let mut e = lit(0i32);
    for (i, c) in rule_conditions(p).into_iter().enumerate().rev() {
        e = when(c.fill_null(lit(false)))
            .then(lit(3 + i as i32))
            .otherwise(e);
    }
    when(col("customer_id").is_null())
        .then(lit(1i32))
        .when(col("__known").is_null())
        .then(lit(2i32))
        .otherwise(e)
}

/// Reads the overrides table for D (`as_of`, a day number) against the
/// known account ids (`known`'s customer_id): its row accounting and one
/// row per account with an override applied (customer_id, the band, and
/// override_reason, override_set_by, override_expires_on).
pub fn read_overrides(
    p: &Pipeline,
    t: &OpenTable,
    known: &DataFrame,
    as_of: i32,
) -> Result<(TableCounts, DataFrame)> {
    let known = known
        .clone()
        .lazy()
        .select([col("customer_id"), lit(true).alias("__known")]);
    let rows = t
        .frame
        .clone()
        .join(
            known,
            [col("customer_id")],
            [col("customer_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            col(DAY)
                .gt(lit(as_of))
                .fill_null(lit(false))
                .alias("__after"),
        )
        .with_column(status(p).alias("__status"))
        .collect()
        .map_err(pl("overrides"))?;
    let in_scope = col("__after").not();
    let valid = in_scope.clone().and(col("__status").eq(lit(0i32)));
    let expired = valid.clone().and(col("expires_on").lt(lit(as_of)));
    let in_force = valid.and(col("expires_on").gt_eq(lit(as_of)));
    let applied = rows
        .clone()
        .lazy()
        .filter(in_force.clone())
        .sort_by_exprs(
            [col("customer_id"), col(DAY), col("expires_on"), col("band")],
            SortMultipleOptions::default().with_order_descending_multi([false, true, true, false]),
        )
        .group_by_stable([col("customer_id")])
        .agg([
            col("band").first().alias(OVERRIDE_BAND),
            col("reason").first().alias("override_reason"),
            col("set_by").first().alias("override_set_by"),
            col("expires_on")
                .first()
                .cast(DataType::Date)
                .alias("override_expires_on"),
            col(DAY).first().alias("__set_on"),
        ])
        .sort(["customer_id"], SortMultipleOptions::default())
        .collect()
        .map_err(pl("overrides"))?;
    // Every count in one pass over the rows.
    let status = |s: i32| in_scope.clone().and(col("__status").eq(lit(s)));
    let mut sums = vec![
        col("__after").alias("after_as_of"),
        expired.alias("expired"),
        in_force.alias("in_force"),
        status(1).alias("null_customer_id"),
        status(2).alias("unknown_customer_id"),
    ];
    sums.extend(
        RULES
            .iter()
            .enumerate()
            .map(|(i, r)| status(3 + i as i32).alias(*r)),
    );
    let totals = rows
        .clone()
        .lazy()
        .select(
            sums.into_iter()
                .map(|e| e.cast(DataType::Int64).sum())
                .collect::<Vec<_>>(),
        )
        .collect()
        .map_err(pl("overrides"))?;
    let count = |name: &str| scalar_i64(&totals, name);
    let rejected = RULES.iter().map(|r| (r.to_string(), count(r))).collect();
    let orphaned = ["null_customer_id", "unknown_customer_id"]
        .iter()
        .map(|o| (o.to_string(), count(o)))
        .collect();
    let used = applied.height() as i64;
    let latest = applied
        .column("__set_on")
        .ok()
        .and_then(|c| c.i32().ok()?.max())
        .map(|d| date_of(d).to_string());
    let counts = TableCounts {
        rows_read: rows.height() as i64,
        after_as_of: count("after_as_of"),
        rejected,
        orphaned,
        rows_used: used,
        expired: Some(count("expired")),
        superseded: Some(count("in_force") - used),
        latest_event_date: latest,
        ..Default::default()
    };
    let applied = applied.drop("__set_on").map_err(pl("overrides"))?;
    Ok((counts, applied))
}
