//! Metric validation: names, definitions (aggregations, account values,
//! ratios and their operands, `from`), scoring (group, weight, normalize,
//! missing) and the evaluation order of derived metrics.

use std::collections::{HashMap, HashSet};

use toml::Spanned;

use super::checks::{canonical_dtype, is_reserved_column, Validator};
use super::raw::*;
use super::*;
use crate::contract::{self, TENURE_DAYS};

/// What metric definitions may refer to: the declared sources and account columns.
pub(super) struct MetricCtx<'a> {
    pub(super) sources: &'a [Source],
    pub(super) known_account: &'a HashSet<String>,
}

impl Validator<'_> {
    /// Checks metric names (first pass): unique, not reserved for an output
    /// column, not a group or account column; returns name → index.
    pub(super) fn metric_names(
        &mut self,
        raw: &[Spanned<RawMetric>],
        groups: &[Group],
        known_account: &HashSet<String>,
    ) -> HashMap<String, usize> {
        let mut metric_names: HashMap<String, usize> = HashMap::new();
        for (i, m) in raw.iter().enumerate() {
            let n = m.get_ref().name.get_ref();
            if metric_names.insert(n.clone(), i).is_some() {
                self.err(
                    m.get_ref().name.span(),
                    format!("duplicate metric name `{n}`; metric names must be unique"),
                );
            }
            let reserved = is_reserved_column(n)
                || n.ends_with("_points")
                || n.ends_with("_score")
                || n.starts_with("__");
            if reserved {
                self.err(m.get_ref().name.span(), format!("metric name `{n}` is reserved for an output column (or ends in _points/_score, or starts with __); rename the metric"));
            }
            if groups.iter().any(|g| &g.name == n) || n == TENURE_DAYS || known_account.contains(n)
            {
                self.err(m.get_ref().name.span(), format!("metric name `{n}` collides with a group or account column name; rename the metric"));
            }
        }
        metric_names
    }

    /// Checks one `[[metrics]]` entry: its definition, then its scoring.
    pub(super) fn metric(
        &mut self,
        m: &Spanned<RawMetric>,
        ctx: &MetricCtx,
        groups: &[Group],
        names: &HashMap<String, usize>,
    ) -> Metric {
        let r = m.get_ref();
        let name = r.name.get_ref().clone();
        let at = m.span();
        let def = self.metric_def(r, &at, &name, ctx, names);
        let scoring = self.scoring(r, &at, &name, groups);
        Metric { name, def, scoring }
    }

    /// Checks a metric gives exactly one of `table`, `account`, `ratio` or
    /// `from`, and checks that definition.
    fn metric_def(
        &mut self,
        r: &RawMetric,
        at: &std::ops::Range<usize>,
        name: &str,
        ctx: &MetricCtx,
        names: &HashMap<String, usize>,
    ) -> MetricDef {
        let kinds = [
            r.table.is_some(),
            r.account.is_some(),
            r.ratio.is_some(),
            r.from.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if kinds != 1 {
            self.err(at.clone(), format!("metric `{name}`: give exactly one of `table` (+ `agg`), `account`, `ratio` or `from`"));
            MetricDef::Account(AccountValue::TenureDays)
        } else if let Some(f) = &r.from {
            if !names.contains_key(f.get_ref()) {
                self.err(
                    f.span(),
                    format!(
                        "metric `{name}`: `from` names `{}`, which is not a declared metric",
                        f.get_ref()
                    ),
                );
            }
            MetricDef::Same(f.get_ref().clone())
        } else if let Some(ratio) = &r.ratio {
            self.ratio(name, ratio, ctx, names)
        } else if let Some(a) = &r.account {
            self.account_metric(r, at, name, a, ctx)
        } else {
            self.table_metric(r, at, name, ctx)
        }
    }

    /// Checks `ratio = [numerator, denominator]`: two operands, each a metric
    /// name or an inline table.
    fn ratio(
        &mut self,
        name: &str,
        ratio: &Spanned<Vec<toml::Value>>,
        ctx: &MetricCtx,
        names: &HashMap<String, usize>,
    ) -> MetricDef {
        let mut ops = Vec::new();
        for v in ratio.get_ref() {
            match v {
                toml::Value::String(n) => ops.push(RawOperand::Name(Spanned::new(ratio.span(), n.clone()))),
                toml::Value::Table(_) => match v.clone().try_into::<RawInline>() {
                    Ok(i) => ops.push(RawOperand::Inline(Box::new(i.spanned(ratio.span())))),
                    Err(e) => self.err(ratio.span(), format!("metric `{name}`: ratio operand: {}", e.message().trim())),
                },
                _ => self.err(ratio.span(), format!("metric `{name}`: a ratio operand is a metric name or an inline table {{ table = …, agg = … }} / {{ account = … }}")),
            }
        }
        if ops.len() != 2 {
            self.err(
                ratio.span(),
                format!(
                    "metric `{name}`: ratio takes exactly two operands [numerator, denominator]"
                ),
            );
            MetricDef::Account(AccountValue::TenureDays)
        } else {
            let num = self.operand(ratio.span(), name, &ops[0], ctx, names);
            let den = self.operand(ratio.span(), name, &ops[1], ctx, names);
            MetricDef::Ratio(Box::new(num), Box::new(den))
        }
    }

    /// Checks an `account = …` metric: no aggregation keys, a known column.
    fn account_metric(
        &mut self,
        r: &RawMetric,
        at: &std::ops::Range<usize>,
        name: &str,
        a: &Spanned<String>,
        ctx: &MetricCtx,
    ) -> MetricDef {
        for (present, key) in [
            (r.agg.is_some(), "agg"),
            (r.column.is_some(), "column"),
            (r.filter.is_some(), "filter"),
            (r.window_days.is_some(), "window_days"),
            (r.offset_days.is_some(), "offset_days"),
        ] {
            if present {
                self.err(
                    at.clone(),
                    format!(
                        "metric `{name}`: `{key}` does not apply to an account metric; remove it"
                    ),
                );
            }
        }
        MetricDef::Account(self.account_value(name, a, ctx))
    }

    /// Checks a `table = …` metric's aggregation.
    fn table_metric(
        &mut self,
        r: &RawMetric,
        at: &std::ops::Range<usize>,
        name: &str,
        ctx: &MetricCtx,
    ) -> MetricDef {
        let raw = RawAgg {
            table: r.table.clone(),
            agg: r.agg.clone(),
            column: r.column.clone(),
            filter: r.filter.clone(),
            window_days: r.window_days.clone(),
            offset_days: r.offset_days.clone(),
            account: None,
        };
        match self.aggregation(at.clone(), name, &raw, ctx) {
            Some(a) => MetricDef::Aggregate(Box::new(a)),
            None => MetricDef::Account(AccountValue::TenureDays),
        }
    }

    /// Checks a metric's scoring keys: only with `group`, and then a known
    /// group, a positive weight, `normalize` and a valid `missing`.
    fn scoring(
        &mut self,
        r: &RawMetric,
        at: &std::ops::Range<usize>,
        name: &str,
        groups: &[Group],
    ) -> Option<Scoring> {
        let g = match &r.group {
            None => {
                for (present, key) in [
                    (r.normalize.is_some(), "normalize"),
                    (r.missing.is_some(), "missing"),
                    (r.weight.is_some(), "weight"),
                    (r.playbook.is_some(), "playbook"),
                ] {
                    if present {
                        self.err(at.clone(), format!("metric `{name}`: `{key}` only applies to scored metrics; add `group = \"…\"` or remove it"));
                    }
                }
                return None;
            }
            Some(g) => g,
        };
        let group = self.metric_group(name, g, groups);
        let weight = match &r.weight {
            None => 1.0,
            Some(w) => {
                let value = *w.get_ref();
                if value <= 0.0 || !value.is_finite() {
                    self.err(
                        w.span(),
                        format!("metric `{name}`: weight {value} must be > 0"),
                    );
                }
                value
            }
        };
        let normalize = match &r.normalize {
            None => {
                self.err(at.clone(), format!("metric `{name}`: a scored metric needs `normalize` (linear, steps or percentile)"));
                Normalize::Linear { lo: 0.0, hi: 1.0 }
            }
            Some(n) => self.normalize(name, n),
        };
        let missing = self.missing(name, &r.missing);
        Some(Scoring {
            group,
            weight,
            normalize,
            missing,
            playbook: r.playbook.clone(),
        })
    }

    /// Checks a metric's `group` is declared; returns its index.
    fn metric_group(&mut self, name: &str, g: &Spanned<String>, groups: &[Group]) -> usize {
        match groups.iter().position(|x| &x.name == g.get_ref()) {
            Some(i) => i,
            None => {
                self.err(
                    g.span(),
                    format!(
                        "metric `{name}`: unknown group `{}`; declared groups are {}",
                        g.get_ref(),
                        groups
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                0
            }
        }
    }

    /// Checks a metric's `missing`: a known policy or points between 0 and 100.
    fn missing(&mut self, name: &str, missing: &Option<Spanned<RawMissing>>) -> Option<f64> {
        match missing {
            None => None,
            Some(mv) => {
                match mv.get_ref() {
                    RawMissing::Policy(p) => match p.as_str() {
                        "skip" => None,
                        "neutral" => Some(50.0),
                        "worst" => Some(0.0),
                        "best" => Some(100.0),
                        other => {
                            self.err(mv.span(), format!("metric `{name}`: unknown missing policy `{other}`; use skip, neutral, worst, best or a number of points"));
                            None
                        }
                    },
                    RawMissing::Points(p) => {
                        if !(0.0..=100.0).contains(p) {
                            self.err(mv.span(), format!("metric `{name}`: missing = {p} must be points between 0 and 100"));
                        }
                        Some(*p)
                    }
                }
            }
        }
    }

    /// Checks a `normalize` table: exactly one kind, distinct finite linear
    /// bounds, ascending steps with points in 0-100, a known percentile direction.
    fn normalize(&mut self, name: &str, n: &Spanned<RawNormalize>) -> Normalize {
        let r = n.get_ref();
        let count = [
            r.linear.is_some(),
            r.steps.is_some(),
            r.percentile.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if count != 1 {
            self.err(n.span(), format!("metric `{name}`: normalize takes exactly one of linear = [lo, hi], steps = [[t, p], …] or percentile = \"higher_is_better\"|\"lower_is_better\""));
            return Normalize::Linear { lo: 0.0, hi: 1.0 };
        }
        if let Some([lo, hi]) = r.linear {
            if lo == hi || !lo.is_finite() || !hi.is_finite() {
                self.err(n.span(), format!("metric `{name}`: linear bounds lo = {lo} and hi = {hi} must be distinct finite numbers (lo > hi means lower is better)"));
            }
            return Normalize::Linear { lo, hi };
        }
        if let Some(steps) = &r.steps {
            if steps.is_empty() {
                self.err(n.span(), format!("metric `{name}`: steps is empty; give [[threshold, points], …] with ascending thresholds"));
            }
            for w in steps.windows(2) {
                if w[1][0] <= w[0][0] {
                    self.err(n.span(), format!("metric `{name}`: step thresholds must be strictly ascending ({} then {})", w[0][0], w[1][0]));
                }
            }
            for s in steps {
                if !(0.0..=100.0).contains(&s[1]) {
                    self.err(
                        n.span(),
                        format!(
                            "metric `{name}`: step points {} must be between 0 and 100",
                            s[1]
                        ),
                    );
                }
            }
            return Normalize::Steps(steps.iter().map(|s| (s[0], s[1])).collect());
        }
        match r.percentile.as_deref() {
            Some("higher_is_better") => Normalize::Percentile {
                higher_is_better: true,
            },
            Some("lower_is_better") => Normalize::Percentile {
                higher_is_better: false,
            },
            other => {
                self.err(n.span(), format!("metric `{name}`: percentile = {:?}; use \"higher_is_better\" or \"lower_is_better\"", other.unwrap_or("")));
                Normalize::Percentile {
                    higher_is_better: true,
                }
            }
        }
    }

    /// Checks an aggregation: a declared dated table, a known `agg`, and its
    /// column, filter and window.
    fn aggregation(
        &mut self,
        at: std::ops::Range<usize>,
        owner: &str,
        r: &RawAgg,
        ctx: &MetricCtx,
    ) -> Option<Aggregation> {
        let table = r.table.as_ref()?;
        let tname = table.get_ref().clone();
        let source = ctx.sources.iter().find(|s| s.table == tname);
        if source.is_none() {
            self.err(table.span(), format!("metric `{owner}`: unknown table `{tname}`; declare [sources.{tname}] or use one of {}", ctx.sources.iter().map(|s| s.table.as_str()).collect::<Vec<_>>().join(", ")));
        }
        if source.is_some_and(|s| s.date_column.is_none()) {
            self.err(table.span(), format!("metric `{owner}`: `{tname}` has no date column, so it cannot be aggregated in a window; use `account = \"<column>\"` for account columns"));
        }
        let contract_table = contract::table(&tname);
        let func = self.agg_func(&at, owner, r)?;
        if let (Some(c), AggFunc::DaysSince) = (&r.column, func) {
            self.err(c.span(), format!("metric `{owner}`: agg `days_since` takes no `column`: it reads the dating column of {tname} (D minus the latest event date in the window)"));
        } else if let Some(c) = &r.column {
            self.agg_column(owner, c, &tname, contract_table);
        } else if !matches!(func, AggFunc::Count | AggFunc::DaysSince) {
            self.err(
                at.clone(),
                format!(
                    "metric `{owner}`: agg `{}` needs `column`",
                    r.agg.as_ref().map(|a| a.get_ref().as_str()).unwrap_or("")
                ),
            );
        }
        let filter = self.agg_filter(owner, r, &tname, contract_table);
        let (window_days, offset_days) = self.agg_window(owner, r);
        Some(Aggregation {
            table: tname,
            func,
            column: r.column.as_ref().map(|c| c.get_ref().clone()),
            filter,
            window_days,
            offset_days: offset_days.unwrap_or(0),
        })
    }

    /// Checks `agg` is given and is one of the SPEC §4 functions.
    fn agg_func(
        &mut self,
        at: &std::ops::Range<usize>,
        owner: &str,
        r: &RawAgg,
    ) -> Option<AggFunc> {
        let func = match r.agg.as_ref() {
            None => {
                self.err(at.clone(), format!("metric `{owner}`: missing `agg` (sum, count, count_distinct, mean, min, max, first, last, days_since)"));
                return None;
            }
            Some(a) => match a.get_ref().as_str() {
                "sum" => AggFunc::Sum,
                "count" => AggFunc::Count,
                "count_distinct" => AggFunc::CountDistinct,
                "mean" => AggFunc::Mean,
                "min" => AggFunc::Min,
                "max" => AggFunc::Max,
                "first" => AggFunc::First,
                "last" => AggFunc::Last,
                "days_since" => AggFunc::DaysSince,
                other => {
                    self.err(a.span(), format!("metric `{owner}`: unknown agg `{other}`; use sum, count, count_distinct, mean, min, max, first, last or days_since"));
                    return None;
                }
            },
        };
        Some(func)
    }

    /// Checks an aggregated column belongs to the contract table (if any).
    fn agg_column(
        &mut self,
        owner: &str,
        c: &Spanned<String>,
        tname: &str,
        contract_table: Option<&contract::Table>,
    ) {
        if let Some(t) = contract_table {
            if t.column(c.get_ref()).is_none() {
                self.err(
                    c.span(),
                    format!(
                        "metric `{owner}`: `{}` is not a column of {tname}; columns are {}",
                        c.get_ref(),
                        t.columns
                            .iter()
                            .map(|c| c.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }

    /// Checks an aggregation's `filter` parses and reads columns of its
    /// contract table (if any).
    fn agg_filter(
        &mut self,
        owner: &str,
        r: &RawAgg,
        tname: &str,
        contract_table: Option<&contract::Table>,
    ) -> Option<Predicate> {
        r.filter.as_ref().and_then(|f| {
            let p = self.predicate(f, &format!("metric `{owner}` filter"))?;
            if let Some(t) = contract_table {
                for c in &p.columns {
                    if t.column(c).is_none() {
                        self.err(f.span(), format!("metric `{owner}`: filter reads `{c}`, which is not a column of {tname}"));
                    }
                }
                let dtype_of = |c: &str| t.column(c).map(|c| canonical_dtype(c.kind));
                self.type_check(&p, f.span(), &format!("metric `{owner}` filter"), &dtype_of);
            }
            Some(p)
        })
    }

    /// Checks `window_days` ≥ 1 and `offset_days` ≥ 0.
    fn agg_window(&mut self, owner: &str, r: &RawAgg) -> (Option<i64>, Option<i64>) {
        let window_days = r.window_days.as_ref().map(|w| {
            if *w.get_ref() < 1 {
                self.err(
                    w.span(),
                    format!("metric `{owner}`: window_days must be ≥ 1"),
                );
            }
            *w.get_ref()
        });
        let offset_days = r.offset_days.as_ref().map(|w| {
            if *w.get_ref() < 0 {
                self.err(
                    w.span(),
                    format!("metric `{owner}`: offset_days must be ≥ 0"),
                );
            }
            *w.get_ref()
        });
        (window_days, offset_days)
    }

    /// Checks an account value is `tenure_days` or a known account column.
    fn account_value(&mut self, owner: &str, a: &Spanned<String>, ctx: &MetricCtx) -> AccountValue {
        let name = a.get_ref();
        if name == TENURE_DAYS {
            AccountValue::TenureDays
        } else {
            if !ctx.known_account.contains(name) {
                self.err(a.span(), format!("metric `{owner}`: unknown account column `{name}`; use a column of accounts, tenure_days, or list it in accounts.extra_columns"));
            }
            AccountValue::Column(name.clone())
        }
    }

    /// Checks a ratio operand: a declared metric, an inline aggregation or an
    /// account value.
    fn operand(
        &mut self,
        at: std::ops::Range<usize>,
        owner: &str,
        op: &RawOperand,
        ctx: &MetricCtx,
        names: &HashMap<String, usize>,
    ) -> Operand {
        match op {
            RawOperand::Name(n) => {
                if !names.contains_key(n.get_ref()) {
                    self.err(n.span(), format!("metric `{owner}`: ratio operand `{}` is not a declared metric; declare it or write an inline {{ table = …, agg = … }} or {{ account = … }}", n.get_ref()));
                }
                Operand::Metric(n.get_ref().clone())
            }
            RawOperand::Inline(r) => {
                if let Some(a) = &r.account {
                    if r.table.is_some() || r.agg.is_some() {
                        self.err(a.span(), format!("metric `{owner}`: an operand is either {{ account = … }} or {{ table = …, agg = … }}, not both"));
                    }
                    Operand::Account(self.account_value(owner, a, ctx))
                } else if r.table.is_some() {
                    match self.aggregation(at.clone(), owner, r, ctx) {
                        Some(a) => Operand::Aggregate(Box::new(a)),
                        None => Operand::Metric(String::new()),
                    }
                } else {
                    self.err(at, format!("metric `{owner}`: an inline operand needs `table` and `agg`, or `account`"));
                    Operand::Metric(String::new())
                }
            }
        }
    }

    /// Checks derived metrics form no cycle; returns a topological order of
    /// metrics (every ratio or `from` after what it reads).
    pub(super) fn eval_order(
        &mut self,
        raw: &[Spanned<RawMetric>],
        metrics: &[Metric],
    ) -> Vec<usize> {
        let index: HashMap<&str, usize> = metrics
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), i))
            .collect();
        let deps = |m: &Metric| -> Vec<usize> {
            match &m.def {
                MetricDef::Ratio(a, b) => [a.as_ref(), b.as_ref()]
                    .iter()
                    .filter_map(|o| match o {
                        Operand::Metric(n) => index.get(n.as_str()).copied(),
                        _ => None,
                    })
                    .collect(),
                MetricDef::Same(n) => index.get(n.as_str()).copied().into_iter().collect(),
                _ => Vec::new(),
            }
        };
        // 0 = unvisited, 1 = on stack, 2 = done
        let mut state = vec![0u8; metrics.len()];
        let mut order = Vec::new();
        let mut reported = false;
        for start in 0..metrics.len() {
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            if state[start] != 0 {
                continue;
            }
            state[start] = 1;
            while let Some((node, next)) = stack.pop() {
                let d = deps(&metrics[node]);
                if next < d.len() {
                    stack.push((node, next + 1));
                    let child = d[next];
                    match state[child] {
                        0 => {
                            state[child] = 1;
                            stack.push((child, 0));
                        }
                        1 if !reported => {
                            reported = true;
                            let mut cycle: Vec<&str> = stack
                                .iter()
                                .map(|(n, _)| metrics[*n].name.as_str())
                                .skip_while(|n| *n != metrics[child].name)
                                .collect();
                            cycle.push(&metrics[child].name);
                            self.err(raw[node].span(), format!("derived metrics form a cycle: {}; break it by computing one of them from aggregations", cycle.join(" → ")));
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    order.push(node);
                }
            }
        }
        order
    }
}
