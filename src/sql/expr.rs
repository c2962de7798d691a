//! SQL text of pipeline values: quoted identifiers, escaped string
//! literals, float literals, and predicates translated from their parsed
//! polars expression tree (never from the text the pipeline file holds).
//! Every string that comes from a pipeline reaches the SQL through
//! [`ident`] or [`string_lit`].

use polars::prelude::{
    AggExpr, AnyValue, BooleanFunction, DataType, DataTypeExpr, Expr, FunctionExpr, LiteralValue,
    Operator, Scalar,
};

use super::Dialect;
use crate::error::{ConfigIssue, Error, Result};
use crate::pipeline::{Pipeline, Predicate};

/// A quoted identifier: `"name"` for DuckDB (a `"` doubled), `` `name` ``
/// for Spark (a `` ` `` doubled). Control characters cannot be quoted in
/// either dialect portably, so they are written as `?`.
pub fn ident(d: Dialect, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    match d {
        Dialect::DuckDb => format!("\"{}\"", clean.replace('"', "\"\"")),
        Dialect::Spark => format!("`{}`", clean.replace('`', "``")),
    }
}

/// A string literal: `'…'` with `'` doubled (DuckDB; control characters
/// joined in as `chr(n)`), or with `\`, `'` and control characters
/// escaped by a backslash (Spark, whose parser reads backslash escapes).
/// No literal spans lines, so a script splits into statements at `;` line
/// ends.
pub fn string_lit(d: Dialect, s: &str) -> String {
    match d {
        Dialect::DuckDb if s.chars().any(char::is_control) => {
            let mut parts = Vec::new();
            let mut plain = String::new();
            for c in s.chars() {
                if c.is_control() {
                    parts.push(format!("'{}'", plain.replace('\'', "''")));
                    parts.push(format!("chr({})", c as u32));
                    plain.clear();
                } else {
                    plain.push(c);
                }
            }
            parts.push(format!("'{}'", plain.replace('\'', "''")));
            format!("({})", parts.join(" || "))
        }
        Dialect::DuckDb => format!("'{}'", s.replace('\'', "''")),
        Dialect::Spark => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("\\'"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    }
}

/// A finite float as a DOUBLE literal in both dialects (scientific
/// notation: a plain `0.5` is a DECIMAL in DuckDB and Spark), written with
/// the shortest digits that read back as the same value.
pub fn float_lit(x: f64) -> Result<String> {
    if !x.is_finite() {
        return Err(Error::Internal(format!(
            "cannot write the non-finite number {x} as SQL"
        )));
    }
    let s = format!("{x:?}");
    Ok(if s.contains('e') {
        s
    } else if s.contains('.') {
        format!("{s}e0")
    } else {
        format!("{s}.0e0")
    })
}

/// A float rounded to 9 decimals, half away from zero (as `run`'s
/// `round(9, HalfAwayFromZero)`: x · 10⁹ rounded, then / 10⁹).
pub(super) fn round9(x: &str) -> String {
    format!("round(({x}) * 1e9) / 1e9")
}

/// Text that may go into a `--` comment: one line, control characters
/// and `;` replaced (a comment never ends a statement for a splitter).
pub fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == ';' { ' ' } else { c })
        .collect()
}

/// Translates `expr` (a parsed pipeline predicate or a row rule) to SQL;
/// `column` writes a column reference. Null behaves as in polars (Kleene
/// logic, comparisons with null are null); callers wrap conditions in
/// `coalesce(…, FALSE)` where null counts as false.
pub fn translate(d: Dialect, expr: &Expr, column: &dyn Fn(&str) -> String) -> Result<String> {
    let t = |e: &Expr| translate(d, e, column);
    match expr {
        Expr::Column(name) => Ok(column(name.as_str())),
        Expr::Alias(inner, _) => t(inner),
        Expr::Literal(v) => literal(d, v),
        Expr::BinaryExpr { left, op, right } => {
            let (l, r) = (t(left)?, t(right)?);
            let sql_op = match op {
                Operator::Eq => "=",
                Operator::NotEq => "<>",
                Operator::Lt => "<",
                Operator::LtEq => "<=",
                Operator::Gt => ">",
                Operator::GtEq => ">=",
                Operator::Plus => "+",
                Operator::Minus => "-",
                Operator::Multiply => "*",
                Operator::And | Operator::LogicalAnd => "AND",
                Operator::Or | Operator::LogicalOr => "OR",
                Operator::EqValidity => "IS NOT DISTINCT FROM",
                Operator::NotEqValidity => "IS DISTINCT FROM",
                Operator::TrueDivide => {
                    return Ok(format!("(CAST({l} AS DOUBLE) / {r})"));
                }
                other => return Err(untranslatable(&format!("the operator `{other}`"))),
            };
            Ok(format!("({l} {sql_op} {r})"))
        }
        Expr::Cast { expr, dtype, .. } => {
            let inner = t(expr)?;
            let ty = match dtype {
                DataTypeExpr::Literal(DataType::Boolean) => "BOOLEAN",
                DataTypeExpr::Literal(DataType::Int64) => "BIGINT",
                DataTypeExpr::Literal(DataType::Float64) => "DOUBLE",
                DataTypeExpr::Literal(DataType::String) => d.string_type(),
                _ => return Err(untranslatable("a cast to that type")),
            };
            Ok(format!("CAST({inner} AS {ty})"))
        }
        Expr::Function { input, function } => function_sql(d, input, function, column),
        _ => Err(untranslatable("that expression")),
    }
}

/// A boolean function of the predicate language: not, is (not) null, in.
fn function_sql(
    d: Dialect,
    input: &[Expr],
    function: &FunctionExpr,
    column: &dyn Fn(&str) -> String,
) -> Result<String> {
    let FunctionExpr::Boolean(b) = function else {
        return Err(untranslatable(&format!("the function `{function}`")));
    };
    let arg = |i: usize| -> Result<String> {
        input
            .get(i)
            .ok_or_else(|| untranslatable("a function without its argument"))
            .and_then(|e| translate(d, e, column))
    };
    match b {
        BooleanFunction::Not => Ok(format!("(NOT {})", arg(0)?)),
        BooleanFunction::IsNull => Ok(format!("({} IS NULL)", arg(0)?)),
        BooleanFunction::IsNotNull => Ok(format!("({} IS NOT NULL)", arg(0)?)),
        BooleanFunction::IsIn { .. } => {
            let x = arg(0)?;
            let values = in_list(d, input.get(1))?;
            if values.is_empty() {
                // Null stays null; anything else is in no empty set.
                return Ok(format!("(CASE WHEN {x} IS NULL THEN NULL ELSE FALSE END)"));
            }
            Ok(format!("({x} IN ({}))", values.join(", ")))
        }
        other => Err(untranslatable(&format!("the function `{other}`"))),
    }
}

/// The values of an `in (…)` list (a literal series, imploded), nulls
/// left out: a null in the set never matches (nulls_equal is false).
fn in_list(d: Dialect, set: Option<&Expr>) -> Result<Vec<String>> {
    let set = match set {
        Some(Expr::Agg(AggExpr::Implode { input, .. })) => input.as_ref(),
        Some(e) => e,
        None => return Err(untranslatable("`in` without a list")),
    };
    let Expr::Literal(LiteralValue::Series(s)) = set else {
        return Err(untranslatable(
            "`in` over something other than a list of values",
        ));
    };
    let mut out = Vec::new();
    for v in s.iter() {
        if !v.is_null() {
            out.push(any_value(d, &v)?);
        }
    }
    Ok(out)
}

fn literal(d: Dialect, v: &LiteralValue) -> Result<String> {
    match v {
        LiteralValue::Scalar(s) => scalar(d, s),
        LiteralValue::Dyn(dynamic) => {
            // An untyped literal of the SQL text: text, integer or float
            // (a list literal fails the float conversion).
            if let Some(s) = v.extract_str() {
                return Ok(string_lit(d, s));
            }
            if let Ok(i) = v.extract_i64() {
                return Ok(int_lit(i as i128));
            }
            dynamic
                .clone()
                .try_materialize_to_dtype(&DataType::Float64, Default::default())
                .map_err(|_| untranslatable("that literal"))
                .and_then(|s| scalar(d, &s))
        }
        _ => Err(untranslatable("that literal")),
    }
}

fn int_lit(i: i128) -> String {
    if i < 0 {
        format!("({i})")
    } else {
        i.to_string()
    }
}

fn scalar(d: Dialect, s: &Scalar) -> Result<String> {
    any_value(d, s.value())
}

fn any_value(d: Dialect, v: &AnyValue<'_>) -> Result<String> {
    Ok(match v {
        AnyValue::Null => "NULL".to_string(),
        AnyValue::Boolean(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        AnyValue::String(s) => string_lit(d, s),
        AnyValue::StringOwned(s) => string_lit(d, s.as_str()),
        AnyValue::Int8(i) => int_lit(*i as i128),
        AnyValue::Int16(i) => int_lit(*i as i128),
        AnyValue::Int32(i) => int_lit(*i as i128),
        AnyValue::Int64(i) => int_lit(*i as i128),
        AnyValue::Int128(i) => int_lit(*i),
        AnyValue::UInt8(i) => int_lit(*i as i128),
        AnyValue::UInt16(i) => int_lit(*i as i128),
        AnyValue::UInt32(i) => int_lit(*i as i128),
        AnyValue::UInt64(i) => int_lit(*i as i128),
        AnyValue::Float32(f) => float_lit(*f as f64)?,
        AnyValue::Float64(f) => float_lit(*f)?,
        _ => return Err(untranslatable("a value of that type")),
    })
}

/// The marker error of a construct the SQL compiler does not cover;
/// [`predicate`] turns it into a located pipeline error.
fn untranslatable(what: &str) -> Error {
    Error::Internal(format!("{what} cannot be compiled to SQL"))
}

/// A pipeline predicate as a SQL condition where null counts as false
/// (`coalesce(…, FALSE)`), columns written as quoted identifiers. A
/// construct outside the SQL subset (column, literal, comparison,
/// arithmetic, and/or/not, is null, in) is a pipeline error at the line
/// of the predicate's text.
pub fn predicate(d: Dialect, p: &Pipeline, pred: &Predicate, what: &str) -> Result<String> {
    let column = |c: &str| ident(d, c);
    match translate(d, &pred.expr, &column) {
        Ok(sql) => Ok(format!("coalesce({sql}, FALSE)")),
        Err(e) => {
            let why = match e {
                Error::Internal(m) => m,
                other => other.to_string(),
            };
            let (line, column) = locate(&p.source_text, &pred.text);
            Err(Error::Pipeline {
                file: p.file.clone(),
                issues: vec![ConfigIssue {
                    line,
                    column,
                    message: format!("{what}: `{}` cannot be compiled to SQL for `healthscore sql` ({why}); use comparisons of columns with values, and, or, not, in, is null", pred.text),
                }],
            })
        }
    }
}

/// Line and column of `needle`'s first occurrence in `text` (1:1 when absent).
fn locate(text: &str, needle: &str) -> (usize, usize) {
    match text.find(needle) {
        Some(at) => {
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let col = before.rfind('\n').map(|p| at - p).unwrap_or(at + 1);
            (line, col)
        }
        None => (1, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(d: Dialect, text: &str) -> String {
        let e = polars::sql::sql_expr(text).expect("parses");
        translate(d, &e, &|c| ident(d, c)).expect("translates")
    }

    #[test]
    fn predicates_become_sql_with_quoted_names_and_escaped_values() {
        let d = Dialect::DuckDb;
        assert_eq!(sql(d, "feature = 'login'"), "(\"feature\" = 'login')");
        assert_eq!(
            sql(d, "feature not in ('a', 'b') and events > 0"),
            "((NOT (\"feature\" IN ('a', 'b'))) AND (\"events\" > 0))"
        );
        assert_eq!(sql(d, "x >= 1.5"), "(\"x\" >= 1.5e0)");
        assert_eq!(sql(d, "s = 'it''s; x'"), "(\"s\" = 'it''s; x')");
        assert_eq!(
            sql(Dialect::Spark, "s = 'it''s \\ x'"),
            "(`s` = 'it\\'s \\\\ x')"
        );
        assert_eq!(sql(d, "x != 3"), "(NOT (\"x\" = 3))");
        assert_eq!(
            sql(d, "a is null or b is not null"),
            "((\"a\" IS NULL) OR (\"b\" IS NOT NULL))"
        );
    }

    #[test]
    fn identifiers_and_literals_escape_their_quotes() {
        assert_eq!(ident(Dialect::DuckDb, "a\"b"), "\"a\"\"b\"");
        assert_eq!(ident(Dialect::Spark, "a`b"), "`a``b`");
        assert_eq!(string_lit(Dialect::DuckDb, "a'b"), "'a''b'");
        assert_eq!(float_lit(0.7).unwrap(), "0.7e0");
        assert_eq!(float_lit(100.0).unwrap(), "100.0e0");
        assert_eq!(float_lit(1e-7).unwrap(), "1e-7");
    }
}
