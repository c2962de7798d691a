//! The validator's base: the issue list with its spans, condition parsing
//! and type checking, and the column rules every section's checks share.
//! The sections (validate.rs, metrics.rs) build on it.

use polars::prelude::{Column, DataFrame, DataType, IntoLazy};
use toml::Spanned;

use super::{line_col, Predicate};
use crate::contract::{self, TENURE_DAYS};
use crate::error::ConfigIssue;

/// Collects the issues of one pipeline file while building its [`Pipeline`].
pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) issues: Vec<ConfigIssue>,
}

impl Validator<'_> {
    /// Records an issue at the line and column of `span`'s start.
    pub(super) fn err(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.issues.push(ConfigIssue {
            line,
            column,
            message: message.into(),
        });
    }

    /// Checks that `s` parses as a SQL condition and compiles it.
    pub(super) fn predicate(&mut self, s: &Spanned<String>, what: &str) -> Option<Predicate> {
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

    /// Checks that `p` compares values of compatible types, by evaluating
    /// it on no rows with its columns' types (`dtype_of` a column; a
    /// predicate reading a column whose type is only known from the data is
    /// checked when the table is opened instead). A string compared with a
    /// number would otherwise fail at run time, as an internal error.
    pub(super) fn type_check(
        &mut self,
        p: &Predicate,
        span: std::ops::Range<usize>,
        what: &str,
        dtype_of: &dyn Fn(&str) -> Option<DataType>,
    ) {
        let mut columns = Vec::new();
        for c in &p.columns {
            match dtype_of(c) {
                Some(dt) => columns.push(Column::new_empty(c.as_str().into(), &dt)),
                None => return,
            }
        }
        let Ok(empty) = DataFrame::new_infer_height(columns) else {
            return;
        };
        if let Err(e) = empty
            .lazy()
            .select([p.expr.clone().alias("__predicate")])
            .collect()
        {
            let why = e.to_string();
            let why = why.lines().next().unwrap_or_default();
            self.err(span, format!("{what}: `{}` compares values of incompatible types ({why}); compare each column with a value of its type, e.g. `events > 10` or `feature = 'login'`", p.text));
        }
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
pub(super) fn is_reserved_column(name: &str) -> bool {
    FIXED_OUTPUT_COLUMNS.contains(&name) || name == "model_version" || name == "snapshot_date"
}

/// Whether weights adding up to `sum` can weigh points of up to 100
/// without overflowing (SPEC §7: a weight or a sum of weights that is not
/// finite is refused at load).
pub(super) fn weighable(sum: f64) -> bool {
    (sum * 100.0).is_finite()
}

/// The type a contract column has in the canonical frames that predicates
/// are evaluated on (dates are day numbers).
pub(super) fn canonical_dtype(kind: contract::Kind) -> DataType {
    match kind {
        contract::Kind::Str => DataType::String,
        contract::Kind::Int => DataType::Int64,
        contract::Kind::Float => DataType::Float64,
        contract::Kind::Date => DataType::Int32,
    }
}

/// The type of an account column in the scoring frame, when the contract
/// fixes it (`tenure_days`: Int32 days); extra columns are typed by the
/// data.
pub(super) fn account_dtype(c: &str) -> Option<DataType> {
    if c == TENURE_DAYS {
        return Some(DataType::Int32);
    }
    contract::table("accounts")?
        .column(c)
        .map(|c| canonical_dtype(c.kind))
}
