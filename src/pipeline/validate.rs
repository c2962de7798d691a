//! Validation: the raw TOML turned into the typed [`Pipeline`], every
//! problem collected with its line and column (SPEC §4: reported before any
//! data is read).

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::raw::*;
use super::*;
use crate::contract::{self, TENURE_DAYS};
use crate::error::ConfigIssue;

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) issues: Vec<ConfigIssue>,
}

/// The default bands of SPEC §4.
pub fn default_bands() -> Vec<Band> {
    let b = |name: &str, min, max, color: &str| Band {
        name: name.into(),
        min,
        max,
        color: color.into(),
    };
    vec![
        b("Critical", 0, 40, "red"),
        b("At-Risk", 41, 60, "yellow"),
        b("Healthy", 61, 80, "green"),
        b("Thriving", 81, 100, "green"),
    ]
}

impl<'a> Validator<'a> {
    fn err(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.issues.push(ConfigIssue {
            line,
            column,
            message: message.into(),
        });
    }

    fn predicate(&mut self, s: &Spanned<String>, what: &str) -> Option<Predicate> {
        let text = s.get_ref().trim().to_string();
        match polars::sql::sql_expr(&text) {
            Ok(expr) => {
                let columns: Vec<String> = expr
                    .clone()
                    .meta()
                    .root_names()
                    .into_iter()
                    .map(|n| n.to_string())
                    .collect();
                Some(Predicate {
                    text,
                    expr,
                    columns,
                })
            }
            Err(e) => {
                self.err(
                    s.span(),
                    format!("{what}: cannot parse `{text}` as a SQL condition ({e}); write e.g. `feature = 'login' and events > 0`"),
                );
                None
            }
        }
    }

    pub(super) fn pipeline(&mut self, file: &str, text: &str, raw: RawPipeline) -> Pipeline {
        let name = raw.pipeline.name.get_ref().clone();
        if name.is_empty() || name.contains('@') {
            self.err(
                raw.pipeline.name.span(),
                "pipeline name must be non-empty and must not contain '@'",
            );
        }
        let version = match raw.pipeline.version.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            _ => {
                self.err(
                    raw.pipeline.version.span(),
                    "version must be a string or an integer, e.g. version = \"1\"",
                );
                String::new()
            }
        };

        // Sources.
        let mut sources = Vec::new();
        for (table, s) in &raw.sources {
            let span = s.span();
            let s = s.get_ref();
            let contract = contract::table(table);
            if let Some(t) = contract {
                for canonical in s.columns.keys() {
                    if t.column(canonical).is_none() {
                        self.err(
                            span.clone(),
                            format!(
                                "sources.{table}.columns: `{canonical}` is not a column of the {table} contract; the keys are canonical names ({})",
                                t.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                            ),
                        );
                    }
                }
                if s.date.is_some() {
                    self.err(
                        span.clone(),
                        format!("sources.{table}.date: the contract table {table} is dated by {}; remove `date`", t.date_column.unwrap_or("no column")),
                    );
                }
            } else if s.date.is_none() {
                self.err(
                    span.clone(),
                    format!("sources.{table}: a table outside the contract needs `date = \"<column>\"`, the column that dates its rows"),
                );
            }
            sources.push(Source {
                table: table.clone(),
                path: s.path.clone(),
                renames: s.columns.clone(),
                date_column: contract
                    .map(|t| t.date_column.map(str::to_string))
                    .unwrap_or_else(|| s.date.clone()),
                is_contract: contract.is_some(),
            });
        }
        if !raw.sources.contains_key("accounts") {
            self.err(
                0..0,
                "missing [sources.accounts]: every pipeline reads the accounts table",
            );
        }

        // Groups.
        let mut groups: Vec<Group> = Vec::new();
        for g in &raw.groups {
            let gname = g.get_ref().name.get_ref().clone();
            if groups.iter().any(|x| x.name == gname) {
                self.err(
                    g.get_ref().name.span(),
                    format!("duplicate group name `{gname}`; group names must be unique"),
                );
            }
            groups.push(Group {
                name: gname,
                playbook: g.get_ref().playbook.clone(),
            });
        }
        if groups.is_empty() {
            self.err(
                0..0,
                "no [[groups]]: declare at least one group of scored metrics",
            );
        }

        // Accounts.
        let account_columns: HashSet<String> = contract::table("accounts")
            .map(|t| t.columns.iter().map(|c| c.name.to_string()).collect())
            .unwrap_or_default();
        let mut known_account: HashSet<String> = account_columns.clone();
        known_account.extend(raw.accounts.extra_columns.iter().cloned());
        let accounts_filter = raw
            .accounts
            .filter
            .as_ref()
            .and_then(|f| self.predicate(f, "accounts.filter"));
        if let (Some(p), Some(f)) = (&accounts_filter, &raw.accounts.filter) {
            for c in &p.columns {
                if !known_account.contains(c) {
                    self.err(f.span(), format!("accounts.filter reads unknown account column `{c}`; list it in accounts.extra_columns"));
                }
            }
        }
        for p in &raw.accounts.pass_through {
            if is_reserved_column(p.get_ref()) || p.get_ref() == "name" {
                self.err(
                    p.span(),
                    format!(
                        "accounts.pass_through: `{}` is already an output column; remove it",
                        p.get_ref()
                    ),
                );
            }
            if !known_account.contains(p.get_ref()) {
                self.err(p.span(), format!("accounts.pass_through: unknown account column `{}`; list it in accounts.extra_columns", p.get_ref()));
            }
        }

        // Metrics (first pass: names).
        let mut metric_names: HashMap<String, usize> = HashMap::new();
        for (i, m) in raw.metrics.iter().enumerate() {
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
        let ctx = MetricCtx {
            sources: &sources,
            known_account: &known_account,
        };
        let mut metrics = Vec::new();
        for m in &raw.metrics {
            metrics.push(self.metric(m, &ctx, &groups, &metric_names));
        }
        let eval_order = self.eval_order(&raw.metrics, &metrics);

        // Scorecards.
        let mut scorecards: Vec<Scorecard> = Vec::new();
        let mut seen_catch_all = false;
        for sc in &raw.scorecards {
            let r = sc.get_ref();
            let sname = r.name.get_ref().clone();
            if scorecards.iter().any(|x| x.name == sname) {
                self.err(r.name.span(), format!("duplicate scorecard name `{sname}`"));
            }
            if seen_catch_all {
                self.err(r.name.span(), format!("scorecard `{sname}` follows a scorecard without `when`, so it can never match; move it up or give the earlier one a condition"));
            }
            let when = r
                .when
                .as_ref()
                .and_then(|w| self.predicate(w, &format!("scorecard `{sname}`")));
            if r.when.is_none() {
                seen_catch_all = true;
            }
            if let (Some(p), Some(w)) = (&when, &r.when) {
                for c in &p.columns {
                    if !(known_account.contains(c)
                        || c == TENURE_DAYS
                        || metric_names.contains_key(c))
                    {
                        self.err(w.span(), format!("scorecard `{sname}`: `when` reads unknown column or metric `{c}`; use account columns, tenure_days or metric names"));
                    }
                    if c.ends_with("_points") {
                        self.err(w.span(), format!("scorecard `{sname}`: predicates use raw values, never points (`{c}`)"));
                    }
                }
            }
            let mut weights = vec![0.0; groups.len()];
            for (gname, w) in r.weights.get_ref() {
                match groups.iter().position(|g| &g.name == gname) {
                    Some(i) => {
                        let value = *w.get_ref();
                        if value < 0.0 || !value.is_finite() {
                            self.err(w.span(), format!("scorecard `{sname}`: weight of `{gname}` is {value}; group weights must be ≥ 0"));
                        }
                        weights[i] = value;
                    }
                    None => self.err(
                        w.span(),
                        format!(
                            "scorecard `{sname}`: unknown group `{gname}`; declared groups are {}",
                            groups
                                .iter()
                                .map(|g| g.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            if weights.iter().all(|w| *w <= 0.0) {
                self.err(r.weights.span(), format!("scorecard `{sname}`: all group weights are zero; give at least one group a positive weight"));
            }
            for key in r.playbooks.keys() {
                if !groups.iter().any(|g| &g.name == key) && !metric_names.contains_key(key) {
                    self.err(sc.span(), format!("scorecard `{sname}`: playbooks key `{key}` is neither a group nor a metric"));
                }
            }
            scorecards.push(Scorecard {
                name: sname,
                when,
                weights,
                playbooks: r.playbooks.clone(),
            });
        }
        if scorecards.is_empty() {
            self.err(
                0..0,
                "no [[scorecards]]: declare at least one (the last may omit `when`)",
            );
        }

        // Bands.
        let bands = match &raw.bands {
            None => default_bands(),
            Some(list) => self.bands(list),
        };

        // Keep only the sources the pipeline reads.
        let used: HashSet<String> = metrics
            .iter()
            .flat_map(|m| {
                m.def
                    .aggregations()
                    .into_iter()
                    .map(|(_, a)| a.table.clone())
            })
            .chain(std::iter::once("accounts".to_string()))
            .collect();
        let sources: Vec<Source> = sources
            .into_iter()
            .filter(|s| used.contains(&s.table))
            .collect();
        let settings = self.settings(&raw.settings, &sources, &metric_names);
        let unscored = Band {
            name: raw
                .settings
                .unscored_band
                .clone()
                .unwrap_or_else(|| "Unscored".into()),
            min: 0,
            max: 0,
            color: raw
                .settings
                .unscored_color
                .clone()
                .unwrap_or_else(|| "grey".into()),
        };

        Pipeline {
            file: file.to_string(),
            source_text: text.to_string(),
            sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
            name,
            version,
            settings,
            sources,
            accounts: AccountsSpec {
                filter: accounts_filter,
                extra_columns: raw.accounts.extra_columns.clone(),
                pass_through: raw
                    .accounts
                    .pass_through
                    .iter()
                    .map(|p| p.get_ref().clone())
                    .collect(),
            },
            groups,
            metrics,
            eval_order,
            scorecards,
            bands,
            unscored,
        }
    }

    fn settings(
        &mut self,
        r: &RawSettings,
        sources: &[Source],
        metric_names: &HashMap<String, usize>,
    ) -> Settings {
        let share = |v: &mut Self, s: &Option<Spanned<f64>>, default: f64, name: &str| match s {
            None => default,
            Some(x) => {
                let value = *x.get_ref();
                if !(0.0..=1.0).contains(&value) {
                    v.err(
                        x.span(),
                        format!(
                            "settings.{name} is {value}; it is a share between 0 and 1 (0.01 = 1%)"
                        ),
                    );
                }
                value
            }
        };
        let max_rejected_share = share(self, &r.max_rejected_share, 0.01, "max_rejected_share");
        let max_orphaned_share = share(self, &r.max_orphaned_share, 0.05, "max_orphaned_share");
        let trend_threshold = match &r.trend_threshold {
            None => 5,
            Some(t) => {
                if *t.get_ref() < 1 || *t.get_ref() > 100 {
                    self.err(
                        t.span(),
                        "settings.trend_threshold must be between 1 and 100 points",
                    );
                }
                *t.get_ref() as i32
            }
        };
        let max_lag_days = match &r.max_lag_days {
            None => 3,
            Some(t) => {
                if *t.get_ref() < 0 {
                    self.err(t.span(), "settings.max_lag_days must be ≥ 0");
                }
                *t.get_ref()
            }
        };
        let lag_table = match &r.lag_table {
            Some(t) if t.get_ref().is_empty() => None,
            Some(t) => {
                if !sources
                    .iter()
                    .any(|s| &s.table == t.get_ref() && s.date_column.is_some())
                {
                    self.err(t.span(), format!("settings.lag_table: `{}` is not a declared dated source; use \"\" to disable the lag guard", t.get_ref()));
                }
                Some(t.get_ref().clone())
            }
            None => sources
                .iter()
                .any(|s| s.table == "usage")
                .then(|| "usage".to_string()),
        };
        let summary_mrr_metric = match &r.summary_mrr_metric {
            Some(m) if m.get_ref().is_empty() => None,
            Some(m) => {
                if !metric_names.contains_key(m.get_ref()) {
                    self.err(
                        m.span(),
                        format!(
                            "settings.summary_mrr_metric: unknown metric `{}`",
                            m.get_ref()
                        ),
                    );
                }
                Some(m.get_ref().clone())
            }
            None => metric_names
                .contains_key("mrr_latest")
                .then(|| "mrr_latest".to_string()),
        };
        let lowest_band_alert_points = match &r.lowest_band_alert_points {
            None => 10.0,
            Some(v) => {
                if !(0.0..=100.0).contains(v.get_ref()) {
                    self.err(v.span(), "settings.lowest_band_alert_points must be between 0 and 100 percentage points");
                }
                *v.get_ref()
            }
        };
        Settings {
            trend_threshold,
            max_rejected_share,
            max_orphaned_share,
            max_lag_days,
            lag_table,
            summary_mrr_metric,
            lowest_band_alert_points,
            metrics_table: r.metrics_table.unwrap_or(true),
        }
    }

    fn bands(&mut self, list: &[Spanned<RawBand>]) -> Vec<Band> {
        let mut bands: Vec<Band> = Vec::new();
        for b in list {
            let r = b.get_ref();
            let (min, max) = (*r.min.get_ref(), *r.max.get_ref());
            if !(0..=100).contains(&min) || !(0..=100).contains(&max) || min > max {
                self.err(
                    b.span(),
                    format!(
                        "band `{}`: min {min} and max {max} must satisfy 0 ≤ min ≤ max ≤ 100",
                        r.name.get_ref()
                    ),
                );
            }
            if bands.iter().any(|x| x.name == *r.name.get_ref()) {
                self.err(
                    r.name.span(),
                    format!("duplicate band name `{}`", r.name.get_ref()),
                );
            }
            bands.push(Band {
                name: r.name.get_ref().clone(),
                min: min as i32,
                max: max as i32,
                color: r.color.clone(),
            });
        }
        for score in 0..=100 {
            let n = bands
                .iter()
                .filter(|b| b.min <= score && score <= b.max)
                .count();
            if n != 1 {
                let span = list.first().map(|b| b.span()).unwrap_or(0..0);
                self.err(span, format!("bands must cover every score 0-100 exactly once; score {score} is in {n} bands"));
                break;
            }
        }
        bands
    }

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
        let check_column = |v: &mut Self, c: &Spanned<String>| {
            if let Some(t) = contract_table {
                if t.column(c.get_ref()).is_none() {
                    v.err(
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
        };
        let func = match r.agg.as_ref() {
            None => {
                self.err(at.clone(), format!("metric `{owner}`: missing `agg` (sum, count, count_distinct, mean, min, max, first, last)"));
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
                other => {
                    self.err(a.span(), format!("metric `{owner}`: unknown agg `{other}`; use sum, count, count_distinct, mean, min, max, first or last"));
                    return None;
                }
            },
        };
        if let Some(c) = &r.column {
            check_column(self, c);
        } else if func != AggFunc::Count {
            self.err(
                at.clone(),
                format!(
                    "metric `{owner}`: agg `{}` needs `column`",
                    r.agg.as_ref().map(|a| a.get_ref().as_str()).unwrap_or("")
                ),
            );
        }
        let filter = r.filter.as_ref().and_then(|f| {
            let p = self.predicate(f, &format!("metric `{owner}` filter"))?;
            if let Some(t) = contract_table {
                for c in &p.columns {
                    if t.column(c).is_none() {
                        self.err(f.span(), format!("metric `{owner}`: filter reads `{c}`, which is not a column of {tname}"));
                    }
                }
            }
            Some(p)
        });
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
        Some(Aggregation {
            table: tname,
            func,
            column: r.column.as_ref().map(|c| c.get_ref().clone()),
            filter,
            window_days,
            offset_days: offset_days.unwrap_or(0),
        })
    }

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

    fn metric(
        &mut self,
        m: &Spanned<RawMetric>,
        ctx: &MetricCtx,
        groups: &[Group],
        names: &HashMap<String, usize>,
    ) -> Metric {
        let r = m.get_ref();
        let name = r.name.get_ref().clone();
        let at = m.span();
        let kinds = [
            r.table.is_some(),
            r.account.is_some(),
            r.ratio.is_some(),
            r.from.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        let def = if kinds != 1 {
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
                self.err(ratio.span(), format!("metric `{name}`: ratio takes exactly two operands [numerator, denominator]"));
                MetricDef::Account(AccountValue::TenureDays)
            } else {
                let num = self.operand(ratio.span(), &name, &ops[0], ctx, names);
                let den = self.operand(ratio.span(), &name, &ops[1], ctx, names);
                MetricDef::Ratio(Box::new(num), Box::new(den))
            }
        } else if let Some(a) = &r.account {
            for (present, key) in [
                (r.agg.is_some(), "agg"),
                (r.column.is_some(), "column"),
                (r.filter.is_some(), "filter"),
                (r.window_days.is_some(), "window_days"),
                (r.offset_days.is_some(), "offset_days"),
            ] {
                if present {
                    self.err(at.clone(), format!("metric `{name}`: `{key}` does not apply to an account metric; remove it"));
                }
            }
            MetricDef::Account(self.account_value(&name, a, ctx))
        } else {
            let raw = RawAgg {
                table: r.table.clone(),
                agg: r.agg.clone(),
                column: r.column.clone(),
                filter: r.filter.clone(),
                window_days: r.window_days.clone(),
                offset_days: r.offset_days.clone(),
                account: None,
            };
            match self.aggregation(at.clone(), &name, &raw, ctx) {
                Some(a) => MetricDef::Aggregate(Box::new(a)),
                None => MetricDef::Account(AccountValue::TenureDays),
            }
        };
        let scoring = match &r.group {
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
                None
            }
            Some(g) => {
                let group = match groups.iter().position(|x| &x.name == g.get_ref()) {
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
                };
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
                    Some(n) => self.normalize(&name, n),
                };
                let missing = match &r.missing {
                    None => None,
                    Some(mv) => match mv.get_ref() {
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
                    },
                };
                Some(Scoring {
                    group,
                    weight,
                    normalize,
                    missing,
                    playbook: r.playbook.clone(),
                })
            }
        };
        Metric { name, def, scoring }
    }

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

    /// A topological order of metrics; reports cycles among ratios.
    fn eval_order(&mut self, raw: &[Spanned<RawMetric>], metrics: &[Metric]) -> Vec<usize> {
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

/// The fixed leading columns of the scores table, in SPEC §6 order.
pub const FIXED_OUTPUT_COLUMNS: &[&str] = &[
    "customer_id",
    "customer_name",
    "segment",
    "scorecard",
    "score",
    "score_raw",
    "band",
    "color",
    "completeness",
    "top_drivers",
    "playbook",
    "prev_score",
    "prev_band",
    "score_change",
    "trend",
];

/// Whether a metric or pass-through column would collide with an output
/// column the job writes itself (or readers add: snapshot_date).
fn is_reserved_column(name: &str) -> bool {
    FIXED_OUTPUT_COLUMNS.contains(&name) || name == "model_version" || name == "snapshot_date"
}

struct MetricCtx<'a> {
    sources: &'a [Source],
    known_account: &'a HashSet<String>,
}
