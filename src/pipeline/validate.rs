//! Validation: the raw TOML turned into the typed [`Pipeline`], every
//! problem collected with its line and column (SPEC §4: reported before any
//! data is read). Metric validation lives in `metrics.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};

use toml::Spanned;

use super::checks::{account_dtype, is_reserved_column, weighable, Validator};
use super::metrics::MetricCtx;
use polars::prelude::DataType;

use super::raw::*;
use super::*;
use crate::contract::{self, TENURE_DAYS};
use crate::pipeline::OVERRIDES;

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
    /// Checks the whole file, section by section, and builds the pipeline.
    pub(super) fn pipeline(&mut self, file: &str, text: &str, raw: RawPipeline) -> Pipeline {
        let (name, version) = self.header(&raw.pipeline);
        let sources = self.sources(&raw.sources);
        let groups = self.groups(&raw.groups);
        let known_account = known_account_columns(&raw.accounts);
        let accounts = self.accounts(&raw.accounts, &known_account);
        let metric_names = self.metric_names(&raw.metrics, &groups, &known_account);
        let ctx = MetricCtx {
            sources: &sources,
            known_account: &known_account,
        };
        let mut metrics = Vec::new();
        for m in &raw.metrics {
            metrics.push(self.metric(m, &ctx, &groups, &metric_names));
        }
        let eval_order = self.eval_order(&raw.metrics, &metrics);
        self.group_weight_sums(&raw.metrics, &metrics, &groups);
        let scorecards = self.scorecards(&raw.scorecards, &groups, &known_account, &metric_names);
        let bands = match &raw.bands {
            None => default_bands(),
            Some(list) => self.bands(list),
        };
        let sources = used_sources(sources, &metrics);
        let settings = self.settings(&raw.settings, &sources, &metric_names);
        let unscored = unscored_band(&raw.settings);

        Pipeline {
            file: file.to_string(),
            source_text: text.to_string(),
            sha256: crate::storage::sha256_hex(text.as_bytes()),
            name,
            version,
            settings,
            sources,
            accounts,
            groups,
            metrics,
            eval_order,
            scorecards,
            bands,
            unscored,
        }
    }

    /// Checks that each group's metric weights add up to a sum that points
    /// can be weighed with (see [`weighable`]); the error is reported at
    /// the group's last metric.
    fn group_weight_sums(
        &mut self,
        raw: &[Spanned<RawMetric>],
        metrics: &[Metric],
        groups: &[Group],
    ) {
        for (gi, g) in groups.iter().enumerate() {
            let mut sum = 0.0;
            let mut last = None;
            for (r, m) in raw.iter().zip(metrics) {
                if let Some(s) = m.scoring.as_ref().filter(|s| s.group == gi) {
                    sum += s.weight;
                    last = Some(r.span());
                }
            }
            if let (false, Some(span)) = (weighable(sum), last) {
                self.err(span, format!("group `{}`: its metrics' weights add up to {sum:e}, too large to weigh points of up to 100 with (their sum times 100 must be a finite number); scale them down, only their ratios matter", g.name));
            }
        }
    }

    /// Checks `[pipeline]`: a name without '@' and a string or integer version.
    fn header(&mut self, h: &RawHeader) -> (String, String) {
        let name = h.name.get_ref().clone();
        if name.is_empty() || name.contains('@') {
            self.err(
                h.name.span(),
                "pipeline name must be non-empty and must not contain '@'",
            );
        }
        let version = match h.version.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            _ => {
                self.err(
                    h.version.span(),
                    "version must be a string or an integer, e.g. version = \"1\"",
                );
                String::new()
            }
        };
        (name, version)
    }

    /// Checks `[sources.*]`: contract column keys, `date` only outside the
    /// contract, and that `accounts` is declared.
    fn sources(&mut self, raw: &BTreeMap<String, Spanned<RawSource>>) -> Vec<Source> {
        let mut sources = Vec::new();
        for (table, s) in raw {
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
        if !raw.contains_key("accounts") {
            self.err(
                0..0,
                "missing [sources.accounts]: every pipeline reads the accounts table",
            );
        }
        sources
    }

    /// Checks `[[groups]]`: unique names, at least one group.
    fn groups(&mut self, raw: &[Spanned<RawGroup>]) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for g in raw {
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
        groups
    }

    /// Checks `[accounts]`: the filter reads known account columns, and
    /// pass-through columns are known and not output columns.
    fn accounts(&mut self, raw: &RawAccounts, known_account: &HashSet<String>) -> AccountsSpec {
        let accounts_filter = raw
            .filter
            .as_ref()
            .and_then(|f| self.predicate(f, "accounts.filter"));
        if let (Some(p), Some(f)) = (&accounts_filter, &raw.filter) {
            for c in &p.columns {
                if !known_account.contains(c) {
                    self.err(f.span(), format!("accounts.filter reads unknown account column `{c}`; list it in accounts.extra_columns"));
                }
            }
            self.type_check(p, f.span(), "accounts.filter", &account_dtype);
        }
        for p in &raw.pass_through {
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
        AccountsSpec {
            filter: accounts_filter,
            extra_columns: raw.extra_columns.clone(),
            pass_through: raw
                .pass_through
                .iter()
                .map(|p| p.get_ref().clone())
                .collect(),
        }
    }

    /// Checks `[[scorecards]]`: unique names, nothing after a catch-all, and
    /// at least one scorecard.
    fn scorecards(
        &mut self,
        raw: &[Spanned<RawScorecard>],
        groups: &[Group],
        known_account: &HashSet<String>,
        metric_names: &HashMap<String, usize>,
    ) -> Vec<Scorecard> {
        let mut scorecards: Vec<Scorecard> = Vec::new();
        let mut seen_catch_all = false;
        for sc in raw {
            let r = sc.get_ref();
            let sname = r.name.get_ref().clone();
            if scorecards.iter().any(|x| x.name == sname) {
                self.err(r.name.span(), format!("duplicate scorecard name `{sname}`"));
            }
            if seen_catch_all {
                self.err(r.name.span(), format!("scorecard `{sname}` follows a scorecard without `when`, so it can never match; move it up or give the earlier one a condition"));
            }
            let when = self.scorecard_when(&sname, &r.when, known_account, metric_names);
            if r.when.is_none() {
                seen_catch_all = true;
            }
            let weights = self.scorecard_weights(&sname, &r.weights, groups);
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
        scorecards
    }

    /// Checks a scorecard's `when`: it parses, and reads account columns,
    /// tenure_days or metric names, never points.
    fn scorecard_when(
        &mut self,
        sname: &str,
        raw: &Option<Spanned<String>>,
        known_account: &HashSet<String>,
        metric_names: &HashMap<String, usize>,
    ) -> Option<Predicate> {
        let when = raw
            .as_ref()
            .and_then(|w| self.predicate(w, &format!("scorecard `{sname}`")));
        if let (Some(p), Some(w)) = (&when, raw) {
            let dtype_of = |c: &str| {
                if metric_names.contains_key(c) {
                    Some(DataType::Float64)
                } else {
                    account_dtype(c)
                }
            };
            self.type_check(p, w.span(), &format!("scorecard `{sname}`"), &dtype_of);
            for c in &p.columns {
                if !(known_account.contains(c) || c == TENURE_DAYS || metric_names.contains_key(c))
                {
                    self.err(w.span(), format!("scorecard `{sname}`: `when` reads unknown column or metric `{c}`; use account columns, tenure_days or metric names"));
                }
                if c.ends_with("_points") {
                    self.err(
                        w.span(),
                        format!(
                            "scorecard `{sname}`: predicates use raw values, never points (`{c}`)"
                        ),
                    );
                }
            }
        }
        when
    }

    /// Checks a scorecard's weights: declared groups, ≥ 0, not all zero.
    fn scorecard_weights(
        &mut self,
        sname: &str,
        raw: &Spanned<BTreeMap<String, Spanned<f64>>>,
        groups: &[Group],
    ) -> Vec<f64> {
        let mut weights = vec![0.0; groups.len()];
        for (gname, w) in raw.get_ref() {
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
            self.err(raw.span(), format!("scorecard `{sname}`: all group weights are zero; give at least one group a positive weight"));
        }
        let sum: f64 = weights.iter().sum();
        if !weighable(sum) {
            self.err(raw.span(), format!("scorecard `{sname}`: the group weights add up to {sum:e}, too large to weigh points of up to 100 with (their sum times 100 must be a finite number); scale them down, only their ratios matter"));
        }
        weights
    }

    /// Checks `[settings]`: shares, trend threshold, lag guard, summary metric
    /// and lowest-band alert.
    fn settings(
        &mut self,
        r: &RawSettings,
        sources: &[Source],
        metric_names: &HashMap<String, usize>,
    ) -> Settings {
        let max_rejected_share = self.share(&r.max_rejected_share, 0.01, "max_rejected_share");
        let max_orphaned_share = self.share(&r.max_orphaned_share, 0.05, "max_orphaned_share");
        let max_rows_drop = self.share(&r.max_rows_drop, 0.5, "max_rows_drop");
        let trend_threshold = self.trend_threshold(r);
        let max_lag_days = self.max_lag_days(r);
        let lag_table = self.lag_table(r, sources);
        let summary_mrr_metric = self.summary_mrr_metric(r, metric_names);
        let lowest_band_alert_points = self.lowest_band_alert_points(r);
        let alert_change_points =
            self.points_setting(&r.alert_change_points, 15, 1, "alert_change_points");
        let band_hysteresis_points =
            self.points_setting(&r.band_hysteresis_points, 0, 0, "band_hysteresis_points");
        Settings {
            trend_threshold,
            max_rejected_share,
            max_orphaned_share,
            max_rows_drop,
            max_lag_days,
            lag_table,
            summary_mrr_metric,
            lowest_band_alert_points,
            alert_change_points,
            band_hysteresis_points,
            metrics_table: r.metrics_table.unwrap_or(true),
        }
    }

    /// Checks a `settings.<name>` share is between 0 and 1.
    fn share(&mut self, s: &Option<Spanned<f64>>, default: f64, name: &str) -> f64 {
        match s {
            None => default,
            Some(x) => {
                let value = *x.get_ref();
                if !(0.0..=1.0).contains(&value) {
                    self.err(
                        x.span(),
                        format!(
                            "settings.{name} is {value}; it is a share between 0 and 1 (0.01 = 1%)"
                        ),
                    );
                }
                value
            }
        }
    }

    /// Checks `settings.trend_threshold` is between 1 and 100.
    fn trend_threshold(&mut self, r: &RawSettings) -> i32 {
        match &r.trend_threshold {
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
        }
    }

    /// Checks `settings.max_lag_days` is ≥ 0.
    fn max_lag_days(&mut self, r: &RawSettings) -> i64 {
        match &r.max_lag_days {
            None => 3,
            Some(t) => {
                if *t.get_ref() < 0 {
                    self.err(t.span(), "settings.max_lag_days must be ≥ 0");
                }
                *t.get_ref()
            }
        }
    }

    /// Checks `settings.lag_table` names a dated source ("" disables the guard).
    fn lag_table(&mut self, r: &RawSettings, sources: &[Source]) -> Option<String> {
        match &r.lag_table {
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
        }
    }

    /// Checks `settings.summary_mrr_metric` names a declared metric ("" for none).
    fn summary_mrr_metric(
        &mut self,
        r: &RawSettings,
        metric_names: &HashMap<String, usize>,
    ) -> Option<String> {
        match &r.summary_mrr_metric {
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
        }
    }

    /// Checks `settings.lowest_band_alert_points` is between 0 and 100.
    fn lowest_band_alert_points(&mut self, r: &RawSettings) -> f64 {
        match &r.lowest_band_alert_points {
            None => 10.0,
            Some(v) => {
                if !(0.0..=100.0).contains(v.get_ref()) {
                    self.err(v.span(), "settings.lowest_band_alert_points must be between 0 and 100 percentage points");
                }
                *v.get_ref()
            }
        }
    }

    /// Checks a `settings.<name>` number of score points is a whole number
    /// between `min` and 100.
    fn points_setting(
        &mut self,
        v: &Option<Spanned<i64>>,
        default: i32,
        min: i64,
        name: &str,
    ) -> i32 {
        match v {
            None => default,
            Some(v) => {
                let value = *v.get_ref();
                if !(min..=100).contains(&value) {
                    self.err(
                        v.span(),
                        format!("settings.{name} is {value}; it is a number of score points between {min} and 100"),
                    );
                }
                value.clamp(0, 100) as i32
            }
        }
    }

    /// Checks `[[bands]]`: bounds within 0-100, unique names, and every score
    /// in exactly one band.
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
}

/// Account columns a pipeline may read: the contract's plus `extra_columns`.
fn known_account_columns(raw: &RawAccounts) -> HashSet<String> {
    let account_columns: HashSet<String> = contract::table("accounts")
        .map(|t| t.columns.iter().map(|c| c.name.to_string()).collect())
        .unwrap_or_default();
    let mut known_account: HashSet<String> = account_columns.clone();
    known_account.extend(raw.extra_columns.iter().cloned());
    known_account
}

/// Keeps only the sources the metrics read, plus accounts.
fn used_sources(sources: Vec<Source>, metrics: &[Metric]) -> Vec<Source> {
    let used: HashSet<String> = metrics
        .iter()
        .flat_map(|m| {
            m.def
                .aggregations()
                .into_iter()
                .map(|(_, a)| a.table.clone())
        })
        .chain(["accounts".to_string(), OVERRIDES.to_string()])
        .collect();
    sources
        .into_iter()
        .filter(|s| used.contains(&s.table))
        .collect()
}

/// The band of a null score, from `settings.unscored_band`/`unscored_color`.
fn unscored_band(settings: &RawSettings) -> Band {
    Band {
        name: settings
            .unscored_band
            .clone()
            .unwrap_or_else(|| "Unscored".into()),
        min: 0,
        max: 0,
        color: settings
            .unscored_color
            .clone()
            .unwrap_or_else(|| "grey".into()),
    }
}
