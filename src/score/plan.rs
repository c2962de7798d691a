//! The scoring plan of a date (SPEC §4): the accepted accounts beside
//! their aggregates, scored over every account at once where a value needs
//! the population (percentiles) and a slice of rows at a time otherwise,
//! so scoring overlaps with writing.

use polars::prelude::*;

use crate::aggregate::expr::agg_column;
use crate::aggregate::read::Checked;
use crate::error::{pl, Result};
use crate::input::accounting::ids_strictly_ascending;
use crate::pipeline::Pipeline;
use crate::score;

/// Names of the aggregation columns whose empty value is 0.
fn zero_when_empty_columns(p: &Pipeline) -> Vec<String> {
    let mut out = Vec::new();
    for (mi, m) in p.metrics.iter().enumerate() {
        for (slot, a) in m.def.aggregations() {
            if a.func.zero_when_empty() {
                out.push(agg_column(mi, slot));
            }
        }
    }
    out
}

/// The scoring plan for checked inputs: every account's metrics, points,
/// groups, score, band, drivers and trend against `prev` (internal columns
/// included).
fn scoring_plan(p: &Pipeline, checked: &Checked, prev: Option<DataFrame>) -> Result<LazyFrame> {
    Ok(rows_plan(p, global_rows(p, checked, prev)?.lazy()))
}

/// The part of the scoring computed over every account at once: every
/// number of the scores (see [`score::global_scores`]), with the previous
/// snapshot's columns beside each account ([`score::with_previous`]), in
/// customer_id order.
fn global_rows(p: &Pipeline, checked: &Checked, prev: Option<DataFrame>) -> Result<DataFrame> {
    // The in-memory engine here: the streaming one's float sums were not
    // bit-for-bit the same from run to run (reruns must write identical
    // bytes), and it was no faster when measured again.
    score::global_scores(p, scoring_inputs(p, checked)?)
        .collect()
        .and_then(|global| score::with_previous(global, prev))
        .and_then(sorted_by_customer)
        .map_err(pl("scoring"))
}

/// The rest of the scoring plan over [`global_rows`], row by row
/// (so over any slice of them): the names of scorecard, band, color and
/// drivers, the playbook and the trend.
fn rows_plan(p: &Pipeline, global: LazyFrame) -> LazyFrame {
    let scored = score::row_scores(p, global);
    let with_drivers = score::with_drivers(p, scored);
    score::trend_columns(with_drivers, p.settings.trend_threshold, &p.model_version())
}

/// The frame scoring starts from: one row per accepted account with its
/// account columns, `tenure_days` and every aggregation column (empty
/// aggregations that count as 0 filled).
fn scoring_inputs(p: &Pipeline, checked: &Checked) -> Result<LazyFrame> {
    // Aggregates row-aligned with the accounts (the kernel's) are placed
    // beside them; the others are joined on customer_id.
    let mut base = checked.accounts.clone();
    let mut joined = Vec::new();
    for (table, agg) in &checked.aggregates {
        let cols: Vec<Expr> = std::iter::once(col("customer_id"))
            .chain(p.metrics.iter().enumerate().flat_map(|(mi, m)| {
                m.def
                    .aggregations()
                    .into_iter()
                    .filter(|(_, a)| &a.table == table)
                    .map(move |(slot, _)| col(agg_column(mi, slot)))
            }))
            .collect();
        let agg = agg
            .clone()
            .lazy()
            .select(cols)
            .collect()
            .map_err(pl("scoring"))?;
        if same_ids(&base, &agg) {
            let columns = agg.columns().iter().skip(1).cloned().collect::<Vec<_>>();
            base.hstack_mut(&columns).map_err(pl("scoring"))?;
        } else {
            joined.push(agg);
        }
    }
    if let Some(overrides) = &checked.overrides {
        joined.push(overrides.clone());
    }
    let mut wide = base.lazy();
    for agg in joined {
        wide = wide.join(
            agg.lazy(),
            [col("customer_id")],
            [col("customer_id")],
            JoinArgs {
                maintain_order: MaintainOrderJoin::Left,
                ..JoinArgs::new(JoinType::Left)
            },
        );
    }
    let zeros: Vec<Expr> = zero_when_empty_columns(p)
        .into_iter()
        .map(|c| col(c.as_str()).fill_null(lit(0.0)))
        .collect();
    if !zeros.is_empty() {
        wide = wide.with_columns(zeros);
    }
    Ok(wide)
}

/// Scores checked inputs: the scores table (SPEC §6 columns and order),
/// with trend against `prev`.
pub fn score_accounts(
    p: &Pipeline,
    checked: &Checked,
    prev: Option<DataFrame>,
) -> Result<DataFrame> {
    // Row by row over the global rows, which are in customer_id order.
    score::select_output(p, scoring_plan(p, checked, prev)?)
        .collect()
        .map_err(pl("scoring"))
}

/// The frame sorted by customer_id (SPEC §6). Scoring keeps the accepted
/// accounts' order, which is already that: checking it is one pass over
/// the ids, where a sort of the whole wide frame would hold a second copy
/// of it (gigabytes for 10M accounts).
fn sorted_by_customer(df: DataFrame) -> PolarsResult<DataFrame> {
    if ids_strictly_ascending(&df)? {
        Ok(df)
    } else {
        df.sort(["customer_id"], SortMultipleOptions::default())
    }
}

/// Scores accounts a row group at a time for the commit (see
/// [`crate::output::Part::Made`]): the columns that need every account are
/// computed once, then each slice of rows on demand; the slices made are
/// kept for the tables written after the scores.
pub struct RowScorer<'a> {
    p: &'a Pipeline,
    /// [`global_rows`], in the accounts' (customer_id) order;
    /// released once every row is scored.
    global: std::sync::Mutex<DataFrame>,
    /// The slices scored so far (output columns, losses and the
    /// scorecard's position), in row order.
    made: std::sync::Mutex<Vec<DataFrame>>,
}

impl<'a> RowScorer<'a> {
    /// Computes the global part of the scoring for checked inputs.
    pub fn new(p: &'a Pipeline, checked: &Checked, prev: Option<DataFrame>) -> Result<Self> {
        Ok(RowScorer {
            p,
            global: std::sync::Mutex::new(global_rows(p, checked, prev)?),
            made: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The global rows (a cheap copy: columns are shared).
    fn global(&self) -> DataFrame {
        locked(&self.global).clone()
    }

    /// Accounts to score.
    pub fn rows(&self) -> usize {
        self.global().height()
    }

    /// Rows `start .. start + len` of `global` scored: output columns,
    /// losses and the scorecard's position.
    fn score(&self, global: &DataFrame, start: usize, len: usize) -> Result<DataFrame> {
        let slice = global.slice(start as i64, len).lazy();
        score::select_output_with_losses(self.p, rows_plan(self.p, slice))
            .collect()
            .map_err(pl("scoring"))
    }

    /// The scores table's columns of no rows (its schema).
    pub fn schema(&self) -> Result<DataFrame> {
        let none = self.score(&self.global(), 0, 0)?;
        score::scores_of(self.p, &none).map_err(pl("scoring"))
    }

    /// The scores table's columns of rows `start .. start + len`, keeping
    /// the slice (calls come in row order, as the commit writes them).
    pub fn scores(&self, start: usize, len: usize) -> Result<DataFrame> {
        let slice = self.score(&self.global(), start, len)?;
        let scores = score::scores_of(self.p, &slice).map_err(pl("scoring"))?;
        locked(&self.made).push(slice);
        Ok(scores)
    }

    /// Every row scored, once the scores are written: the slices kept, end
    /// to end. The global rows are released (at 10M accounts their
    /// aggregation and intermediate columns are GiBs).
    pub fn scored(&self) -> Result<DataFrame> {
        let global = std::mem::take(&mut *locked(&self.global));
        let mut made = std::mem::take(&mut *locked(&self.made));
        if made.is_empty() {
            return self.score(&global, 0, 0);
        }
        drop(global);
        let mut all = made.remove(0);
        for slice in &made {
            all.vstack_mut(slice).map_err(pl("scoring"))?;
        }
        Ok(all)
    }
}

/// `m`'s value: a thread that panicked while holding it has already
/// failed the run, which then reports that error.
pub fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether two frames hold the same customer_id column, row for row.
fn same_ids(a: &DataFrame, b: &DataFrame) -> bool {
    match (a.column("customer_id"), b.column("customer_id")) {
        (Ok(x), Ok(y)) => {
            a.height() == b.height()
                && x.as_materialized_series()
                    .equals(y.as_materialized_series())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            Column::new("customer_id".into(), v.to_vec()),
            Column::new("x".into(), (0..v.len() as i64).collect::<Vec<_>>()),
        ])
        .unwrap()
    }

    fn order(df: &DataFrame) -> Vec<String> {
        df.column("customer_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect()
    }

    #[test]
    fn scores_in_account_order_stay_as_they_are_and_others_are_sorted() {
        let sorted = sorted_by_customer(ids(&["A", "B", "C10", "C2"])).unwrap();
        assert_eq!(order(&sorted), ["A", "B", "C10", "C2"]);
        assert_eq!(sorted.column("x").unwrap().i64().unwrap().get(3), Some(3));
        let fixed = sorted_by_customer(ids(&["B", "A", "C"])).unwrap();
        assert_eq!(order(&fixed), ["A", "B", "C"]);
        assert_eq!(fixed.column("x").unwrap().i64().unwrap().get(0), Some(1));
        assert_eq!(sorted_by_customer(ids(&[])).unwrap().height(), 0);
    }
}
