//! The inputs' stages: every table's rows with canonical types (dates as
//! UTC day numbers, NaN and ±inf as null, revenue.month on the first of
//! its month), the accepted accounts (SPEC §3: signed up by D, passing the
//! account filter) and each event table's rows classified as `run` does
//! (SPEC §7: after D, orphan, first rule broken), the overrides table's
//! rows classified and the override applied to each account (SPEC §11,
//! as `input::overrides::read_overrides`), and the row accounting.

use super::expr;
use super::{Ctx, Script};
use crate::contract::{self, Kind, TENURE_DAYS};
use crate::error::Result;
use crate::input::overrides::RULES as OVERRIDE_RULES;
use crate::input::rules::row_rules;
use crate::input::DAY;
use crate::pipeline::{AccountValue, Source, OVERRIDES};

/// Day-number column of a dated table's rows.
pub(super) const DAY_COL: &str = "hs_day";

/// The view of a table's classified rows.
pub(super) fn rows_view(ctx: &Ctx, table: &str) -> String {
    ctx.q(&format!("hs_rows_{table}"))
}

/// Rows of an event table that feed the metrics: dated on or before D,
/// of a known account, breaking no rule.
pub(super) const VALID: &str = "NOT hs_after AND hs_orphan IS NULL AND hs_rule IS NULL";

/// The event tables (every source but accounts and overrides), in the
/// pipeline's order.
pub(super) fn event_sources<'a>(ctx: &Ctx<'a>) -> Vec<&'a Source> {
    ctx.p
        .sources
        .iter()
        .filter(|s| s.table != "accounts" && s.table != OVERRIDES)
        .collect()
}

/// The view of the override applied to each account (SPEC §11):
/// customer_id, hs_ovr_band, hs_ovr_reason, hs_ovr_set_by and
/// hs_ovr_expires (a day number); written when the pipeline declares
/// overrides.
pub(super) const OVERRIDES_VIEW: &str = "hs_overrides";

/// Writes the input stages and `row_accounting`.
pub(super) fn write(ctx: &Ctx, script: &mut Script) -> Result<()> {
    accounts(ctx, script)?;
    for s in event_sources(ctx) {
        event_rows(ctx, script, s)?;
    }
    if let Some(s) = ctx.p.source(OVERRIDES) {
        event_rows(ctx, script, s)?;
        overrides(ctx, script);
    }
    row_accounting(ctx, script)
}

/// Whether the pipeline reads this optional account column (else it is
/// not required in the accounts view).
fn reads_account_column(ctx: &Ctx, name: &str) -> bool {
    let p = ctx.p;
    let as_value = AccountValue::Column(name.to_string());
    let in_metric = p
        .metrics
        .iter()
        .any(|m| m.def.account_values().contains(&&as_value));
    let in_predicate = p
        .scorecards
        .iter()
        .filter_map(|s| s.when.as_ref())
        .chain(p.accounts.filter.iter())
        .any(|pr| pr.columns.iter().any(|c| c == name));
    in_metric || in_predicate || p.accounts.pass_through.iter().any(|c| c == name)
}

/// The canonical columns a table's view must provide, with their contract
/// kind (None: read as the warehouse gives it), as `run` reads them.
fn table_columns(ctx: &Ctx, s: &Source) -> Vec<(String, Option<Kind>)> {
    let mut out: Vec<(String, Option<Kind>)> = Vec::new();
    let mut push = |name: &str, kind: Option<Kind>| {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), kind));
        }
    };
    if let Some(t) = contract::table(&s.table) {
        for c in t.columns {
            let optional =
                s.table == "accounts" && matches!(c.name, "seats" | "onboarding_completion_pct");
            if !optional || reads_account_column(ctx, c.name) {
                push(c.name, Some(c.kind));
            }
        }
    } else {
        push("customer_id", Some(Kind::Str));
        if let Some(d) = &s.date_column {
            push(d, Some(Kind::Date));
        }
    }
    if s.table == "accounts" {
        for c in &ctx.p.accounts.extra_columns {
            push(c, None);
        }
    } else {
        for m in &ctx.p.metrics {
            for (_, a) in m.def.aggregations() {
                if a.table != s.table {
                    continue;
                }
                for c in a
                    .column
                    .iter()
                    .chain(a.filter.iter().flat_map(|f| &f.columns))
                {
                    push(c, None);
                }
            }
        }
    }
    out
}

/// A column of the input view in its canonical type.
fn canonical(ctx: &Ctx, name: &str, kind: Option<Kind>) -> String {
    let c = ctx.q(name);
    match kind {
        None => c,
        Some(Kind::Str) => format!("CAST({c} AS {})", ctx.d.string_type()),
        Some(Kind::Int) => format!("CAST({c} AS BIGINT)"),
        Some(Kind::Float) => ctx.d.finite(&format!("CAST({c} AS DOUBLE)")),
        Some(Kind::Date) => ctx.d.day_number(&c),
    }
}

/// The canonical select list of a table's view.
fn canonical_list(ctx: &Ctx, s: &Source, columns: &[(String, Option<Kind>)]) -> Vec<String> {
    columns
        .iter()
        .map(|(name, kind)| {
            let mut e = canonical(ctx, name, *kind);
            if s.table == "revenue" && name == "month" {
                e = ctx.d.month_start(&e);
            }
            format!("{e} AS {}", ctx.q(name))
        })
        .collect()
}

/// hs_known_ids, hs_accounts_rows and hs_accounts (the accepted accounts
/// with tenure_days).
fn accounts(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let Some(s) = ctx.p.source("accounts") else {
        return Ok(());
    };
    let columns = table_columns(ctx, s);
    let list = canonical_list(ctx, s, &columns);
    script.view(
        "hs_accounts_rows",
        &["accounts: every row, canonical types (dates as UTC day numbers).".into()],
        &format!(
            "SELECT\n    {}\nFROM {}",
            list.join(",\n    "),
            ctx.q("accounts")
        ),
    );
    script.view(
        "hs_known_ids",
        &["Account ids known to the accounts table: other tables' rows with another id are orphans.".into()],
        "SELECT DISTINCT customer_id FROM hs_accounts_rows WHERE customer_id IS NOT NULL",
    );
    script.view(
        "duplicate_ids",
        &["OUTPUT duplicate_ids (SPEC §7): ids that more than one accounts row holds, with their copies; a caller refuses the run when it has rows.".into()],
        "SELECT customer_id, CAST(count(*) AS BIGINT) AS copies\nFROM hs_accounts_rows\nWHERE customer_id IS NOT NULL\nGROUP BY customer_id\nHAVING count(*) > 1\nORDER BY customer_id",
    );
    let signup = ctx.q("signup_date");
    let mut conditions = vec!["customer_id IS NOT NULL".to_string(), signed_up(ctx)];
    let mut comment = vec![
        "Accepted accounts (SPEC §3, §7): a customer_id, signed up by D (null signup_date kept)"
            .into(),
    ];
    if let Some(f) = &ctx.p.accounts.filter {
        conditions.push(expr::predicate(ctx.d, ctx.p, f, "accounts.filter")?);
        comment.push(format!("and passing accounts.filter `{}`", f.text));
    }
    comment.push(". tenure_days = D - signup_date.".into());
    script.view(
        "hs_accounts",
        &[comment.concat()],
        &format!(
            "SELECT *, CAST({} - {signup} AS {}) AS {}\nFROM hs_accounts_rows\nWHERE {}",
            ctx.day,
            ctx.d.int_type(),
            ctx.q(TENURE_DAYS),
            conditions.join("\n  AND ")
        ),
    );
    Ok(())
}

/// An account row signed up by D (a null signup_date counts as signed up).
fn signed_up(ctx: &Ctx) -> String {
    format!(
        "NOT coalesce({} > {}, FALSE)",
        ctx.q("signup_date"),
        ctx.day
    )
}

/// The rules of the overrides table (`input::overrides::RULES`, in that
/// order) as (name, SQL condition over alias `c`).
fn override_rules(ctx: &Ctx) -> Vec<(String, String)> {
    let p = ctx.p;
    let c = |name: &str| format!("c.{}", ctx.q(name));
    let known: Vec<String> = p
        .bands
        .iter()
        .chain(std::iter::once(&p.unscored))
        .map(|b| ctx.s(&b.name))
        .collect();
    let conditions = [
        format!("{} IS NULL", c("band")),
        format!("{} IS NULL", c("reason")),
        format!("{} IS NULL", c("set_by")),
        format!("c.{DAY_COL} IS NULL"),
        format!("{} IS NULL", c("expires_on")),
        format!("NOT ({} IN ({}))", c("band"), known.join(", ")),
        format!("{} < c.{DAY_COL}", c("expires_on")),
    ];
    OVERRIDE_RULES
        .iter()
        .zip(conditions)
        .map(|(name, cond)| (name.to_string(), cond))
        .collect()
}

/// The §7 row rules of a table as (name, SQL condition over alias `c`).
pub(super) fn rules(ctx: &Ctx, s: &Source) -> Result<Vec<(String, String)>> {
    if s.table == OVERRIDES {
        return Ok(override_rules(ctx));
    }
    let columns: Vec<(String, Kind)> = table_columns(ctx, s)
        .into_iter()
        .map(|(n, k)| (n, k.unwrap_or(Kind::Str)))
        .collect();
    let column = |c: &str| {
        if c == DAY {
            format!("c.{DAY_COL}")
        } else {
            format!("c.{}", ctx.q(c))
        }
    };
    row_rules(&s.table, &columns, s.date_column.as_deref())
        .into_iter()
        .map(|(name, e)| Ok((name, expr::translate(ctx.d, &e, &column)?)))
        .collect()
}

/// The classified rows of one event table.
fn event_rows(ctx: &Ctx, script: &mut Script, s: &Source) -> Result<()> {
    let columns = table_columns(ctx, s);
    let mut list = canonical_list(ctx, s, &columns);
    let date = s.date_column.as_deref().unwrap_or("date");
    let mut day = canonical(ctx, date, Some(Kind::Date));
    if s.table == "revenue" {
        day = ctx.d.month_start(&day);
    }
    list.push(format!("{day} AS {DAY_COL}"));
    let rules = rules(ctx, s)?;
    let mut rule = String::from("CASE");
    for (name, cond) in &rules {
        rule.push_str(&format!(
            "\n        WHEN coalesce({cond}, FALSE) THEN {}",
            ctx.s(name)
        ));
    }
    rule.push_str("\n    END");
    if rules.is_empty() {
        rule = format!("CAST(NULL AS {})", ctx.d.string_type());
    }
    let names: Vec<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    script.view(
        &rows_view(ctx, &s.table),
        &[
            format!("{}: rows with canonical types, dated by {date} (UTC day number {DAY_COL}),", s.table),
            "hs_after: dated after D (dropped first), hs_orphan: null or unknown customer_id,".into(),
            format!("hs_rule: the first rule broken, in order: {}.", if names.is_empty() { "none".to_string() } else { names.join(", ") }),
        ],
        &format!(
            "SELECT c.*,\n    coalesce(c.{DAY_COL} > {day_d}, FALSE) AS hs_after,\n    CASE WHEN c.customer_id IS NULL THEN 'null_customer_id'\n         WHEN k.customer_id IS NULL THEN 'unknown_customer_id' END AS hs_orphan,\n    {rule} AS hs_rule\nFROM (\n    SELECT\n        {}\n    FROM {}\n) AS c\nLEFT JOIN hs_known_ids AS k ON k.customer_id = c.customer_id",
            list.join(",\n        "),
            ctx.q(&s.table),
            day_d = ctx.day,
        ),
    );
    Ok(())
}

/// The view of the overrides table's rows with their precedence
/// (hs_pick: 1 for the override applied, more for one superseded, null for
/// a row not in force on D).
const OVERRIDE_ROWS_VIEW: &str = "hs_override_rows";

/// hs_override_rows and [`OVERRIDES_VIEW`]: among the valid rows in force
/// on D (set_on ≤ D ≤ expires_on), per account, the latest set_on, then
/// the latest expires_on, then band ascending (byte order) applies.
fn overrides(ctx: &Ctx, script: &mut Script) {
    let (band, expires) = (ctx.q("band"), ctx.q("expires_on"));
    let in_force = format!("{VALID} AND {expires} >= {}", ctx.day);
    script.view(
        OVERRIDE_ROWS_VIEW,
        &[
            "overrides (SPEC §11): each valid row in force on D ranked within its account (hs_pick 1 applies,".into(),
            "above 1: superseded): the latest set_on, then the latest expires_on, then band ascending.".into(),
        ],
        &format!(
            "SELECT *,\n    CASE WHEN {in_force} THEN row_number() OVER (\n        PARTITION BY customer_id, ({in_force})\n        ORDER BY {DAY_COL} DESC, {expires} DESC, {band} ASC, {} ASC, {} ASC) END AS hs_pick\nFROM {}",
            ctx.q("reason"),
            ctx.q("set_by"),
            rows_view(ctx, OVERRIDES)
        ),
    );
    script.view(
        OVERRIDES_VIEW,
        &["The override applied to each account: its band, reason, set_by and expires_on (day number).".into()],
        &format!(
            "SELECT customer_id,\n    {band} AS hs_ovr_band,\n    {} AS hs_ovr_reason,\n    {} AS hs_ovr_set_by,\n    {expires} AS hs_ovr_expires\nFROM {OVERRIDE_ROWS_VIEW}\nWHERE hs_pick = 1",
            ctx.q("reason"),
            ctx.q("set_by"),
        ),
    );
}

/// One count of the row accounting: (count_name, SQL aggregate).
type Count = (String, String);

fn count_if(cond: &str) -> String {
    format!("count(CASE WHEN {cond} THEN 1 END)")
}

/// The counts of an event table, in the manifest's order.
fn event_counts(ctx: &Ctx, s: &Source) -> Result<Vec<Count>> {
    let in_scope = "NOT hs_after";
    let mut counts: Vec<Count> = vec![
        ("rows_read".into(), "count(*)".into()),
        ("after_as_of".into(), count_if("hs_after")),
    ];
    for (rule, _) in rules(ctx, s)? {
        counts.push((
            format!("rejected.{rule}"),
            count_if(&format!(
                "{in_scope} AND hs_orphan IS NULL AND hs_rule = {}",
                ctx.s(&rule)
            )),
        ));
    }
    for orphan in ["null_customer_id", "unknown_customer_id"] {
        counts.push((
            format!("orphaned.{orphan}"),
            count_if(&format!("{in_scope} AND hs_orphan = '{orphan}'")),
        ));
    }
    counts.push(("rows_used".into(), count_if(VALID)));
    counts.extend(null_counts(ctx, s, VALID));
    Ok(counts)
}

/// `nulls.<column>`: the nulls of each optional (nullable) contract
/// column the table reads, among its rows used (`used`), as the manifest's
/// `nulls`.
fn null_counts(ctx: &Ctx, s: &Source, used: &str) -> Vec<Count> {
    let read = table_columns(ctx, s);
    let Some(t) = contract::table(&s.table) else {
        return Vec::new();
    };
    t.columns
        .iter()
        .filter(|c| c.nullable && read.iter().any(|(n, _)| n == c.name))
        .map(|c| {
            (
                format!("nulls.{}", c.name),
                count_if(&format!("{used} AND {} IS NULL", ctx.q(c.name))),
            )
        })
        .collect()
}

/// The counts of the overrides table: an event table's, with rows_used
/// the overrides applied, then `expired` (valid, expires_on before D) and
/// `superseded` (in force on D, another applies), as the manifest's.
fn override_counts(ctx: &Ctx, s: &Source) -> Result<Vec<Count>> {
    let mut counts = event_counts(ctx, s)?;
    // The manifest counts no nulls for the overrides.
    counts.retain(|(name, _)| !name.starts_with("nulls."));
    if let Some(used) = counts.iter_mut().find(|(n, _)| n == "rows_used") {
        used.1 = count_if("hs_pick = 1");
    }
    counts.push((
        "expired".into(),
        count_if(&format!(
            "{VALID} AND {} < {}",
            ctx.q("expires_on"),
            ctx.day
        )),
    ));
    counts.push(("superseded".into(), count_if("hs_pick > 1")));
    Ok(counts)
}

/// The counts of the accounts table.
fn account_counts(ctx: &Ctx) -> Result<Vec<Count>> {
    let signed_up = signed_up(ctx);
    let keep = match &ctx.p.accounts.filter {
        Some(f) => expr::predicate(ctx.d, ctx.p, f, "accounts.filter")?,
        None => "TRUE".into(),
    };
    let id = "customer_id IS NOT NULL";
    let used = format!("{id} AND {signed_up} AND {keep}");
    let nulls = match ctx.p.source("accounts") {
        Some(s) => null_counts(ctx, s, &used),
        None => Vec::new(),
    };
    let mut counts = vec![
        ("rows_read".into(), "count(*)".into()),
        ("after_as_of".into(), "0".into()),
        (
            "rejected.null_customer_id".into(),
            count_if("customer_id IS NULL"),
        ),
        ("rows_used".into(), count_if(&used)),
        (
            "not_yet_customers".into(),
            count_if(&format!("{id} AND NOT {signed_up}")),
        ),
        (
            "excluded_by_filter".into(),
            count_if(&format!("{id} AND {signed_up} AND NOT {keep}")),
        ),
    ];
    counts.extend(nulls);
    Ok(counts)
}

/// `row_accounting`: (table_name, count_name, rows), tables in the
/// pipeline's order (accounts first), counts in the manifest's order.
fn row_accounting(ctx: &Ctx, script: &mut Script) -> Result<()> {
    let mut tables: Vec<(String, String, Vec<Count>)> = Vec::new();
    if ctx.p.source("accounts").is_some() {
        tables.push((
            "accounts".into(),
            "hs_accounts_rows".into(),
            account_counts(ctx)?,
        ));
    }
    for s in event_sources(ctx) {
        tables.push((
            s.table.clone(),
            rows_view(ctx, &s.table),
            event_counts(ctx, s)?,
        ));
    }
    if let Some(s) = ctx.p.source(OVERRIDES) {
        tables.push((
            s.table.clone(),
            OVERRIDE_ROWS_VIEW.into(),
            override_counts(ctx, s)?,
        ));
    }
    let mut parts = Vec::new();
    for (ti, (table, view, counts)) in tables.iter().enumerate() {
        let aggs: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, (_, agg))| format!("{agg} AS n{i}"))
            .collect();
        let names: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("SELECT {i} AS k, {} AS count_name", ctx.s(name)))
            .collect();
        let pick: Vec<String> = (0..counts.len())
            .map(|i| format!("WHEN {i} THEN n{i}"))
            .collect();
        // One scan per table; its one row unpivoted by a cross join.
        parts.push(format!(
            "SELECT {ti} AS hs_t, names.k AS hs_k, {} AS table_name, names.count_name,\n           CAST(CASE names.k {} END AS BIGINT) AS {}\n    FROM (SELECT {} FROM {view}) AS t\n    CROSS JOIN ({}) AS names",
            ctx.s(table),
            pick.join(" "),
            ctx.q("rows"),
            aggs.join(",\n                 "),
            names.join(" UNION ALL "),
        ));
    }
    script.view(
        "row_accounting",
        &[
            "OUTPUT row_accounting (SPEC §7): one row per table and count, long format:".into(),
            "table_name, count_name (rows_read, after_as_of, rejected.<rule>, orphaned.<kind>, rows_used,".into(),
            "not_yet_customers, excluded_by_filter; overrides: expired, superseded), rows.".into(),
        ],
        &format!(
            "SELECT table_name, count_name, {rows}\nFROM (\n    {}\n) AS counts\nORDER BY hs_t, hs_k",
            parts.join("\n    UNION ALL\n    "),
            rows = ctx.q("rows")
        ),
    );
    event_dates(ctx, script);
    Ok(())
}

/// `event_dates`: per dated table (pipeline order, overrides last), the
/// earliest and latest event date among its rows used (the overrides: the
/// latest set_on among those applied), as the manifest's
/// `earliest_event_date` and `latest_event_date` (the staleness guard
/// reads the latter).
fn event_dates(ctx: &Ctx, script: &mut Script) {
    let day = |e: &str| {
        ctx.d
            .date_of_day(&format!("CAST({e} AS {})", ctx.d.int_type()))
    };
    let mut parts: Vec<String> = event_sources(ctx)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "SELECT {i} AS hs_t, {} AS table_name, {} AS earliest_event_date, {} AS latest_event_date FROM {} WHERE {VALID}",
                ctx.s(&s.table),
                day(&format!("min({DAY_COL})")),
                day(&format!("max({DAY_COL})")),
                rows_view(ctx, &s.table),
            )
        })
        .collect();
    if let Some(s) = ctx.p.source(OVERRIDES) {
        parts.push(format!(
            "SELECT {} AS hs_t, {} AS table_name, CAST(NULL AS DATE) AS earliest_event_date, {} AS latest_event_date FROM {OVERRIDE_ROWS_VIEW} WHERE hs_pick = 1",
            parts.len(),
            ctx.s(&s.table),
            day(&format!("max({DAY_COL})")),
        ));
    }
    if parts.is_empty() {
        parts.push("SELECT 0 AS hs_t, CAST(NULL AS STRING) AS table_name, CAST(NULL AS DATE) AS earliest_event_date, CAST(NULL AS DATE) AS latest_event_date WHERE FALSE".replace("STRING", ctx.d.string_type()));
    }
    script.view(
        "event_dates",
        &["OUTPUT event_dates (SPEC §7): per dated table, the earliest and latest event date of its rows used.".into()],
        &format!(
            "SELECT table_name, earliest_event_date, latest_event_date\nFROM (\n    {}\n) AS dates\nORDER BY hs_t",
            parts.join("\n    UNION ALL\n    ")
        ),
    );
}
