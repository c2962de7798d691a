-- The default pipeline (SPEC §5) as one hand-written DuckDB script: the
-- yardstick `make bench` compares `healthscore run` against.
--
-- Written from the SPEC's formulas (§2-§7), independently of the Rust code.
-- Placeholders, substituted by bench/run_bench.py (or any driver):
--   {input}  folder produced by `healthscore generate` (tables as folders of part-*.parquet)
--   {as_of}  as-of date D, YYYY-MM-DD
--   {out}    Parquet file to write (the scores table, SPEC §6 column order)
--
-- Plan (tuned on the 1M workload, 2 threads):
--  * one scan per event table, restricted to its widest window (usage 60
--    days, tickets 90, surveys 180, revenue 90) with the date predicate on the
--    raw column, so DuckDB pushes it into the Parquet reader; the §7 value
--    rules are part of that WHERE (a rejected row is simply not aggregated;
--    rows after D fall outside every window);
--  * each scan projects its per-row contributions (conditional expressions
--    instead of per-metric filters) and the four scans are UNION ALL'ed into
--    ONE hash aggregation on the string customer_id, so there is one group
--    table and one join with accounts (orphans fall out in that join);
--  * distinct days and distinct features as bit_or masks (features by their
--    code in the usage feature dictionary, an ENUM built from one scan of that
--    dictionary-encoded column);
--  * revenue first/last by month without a second GROUP BY: the 90-day
--    window holds at most 4 calendar months, aggregated as 4 conditional
--    max(mrr) slots;
--  * percentiles from counts per distinct value within each scorecard (a
--    window over the distinct values only), joined back;
--  * top-3 drivers from integer sort keys and three greatest() passes, no
--    lists or sorts per row;
--  * snappy Parquet (zstd costs ~1.5 s more CPU here; the SPEC allows both).
-- Trend columns are those of a first snapshot (prev_* null, trend 'new').

SET TimeZone = 'UTC';  -- timestamps: the UTC calendar date is the event date

-- A metric is missing when null, NaN or ±inf (SPEC §4).
CREATE OR REPLACE TEMP MACRO fin(x) AS CASE WHEN isfinite(x) THEN x END;
-- Float64 division, null when either side is null or the denominator is 0.
CREATE OR REPLACE TEMP MACRO ratio(a, b) AS
    CASE WHEN b::DOUBLE <> 0 THEN fin(a::DOUBLE / b::DOUBLE) END;
-- linear(lo, hi): 100 · clamp((x − lo)/(hi − lo), 0, 1); null stays null.
CREATE OR REPLACE TEMP MACRO lin(x, lo, hi) AS
    CASE WHEN x IS NOT NULL
         THEN 100.0 * least(greatest((x - lo) / (hi - lo), 0.0), 1.0) END;
-- 1 when x is not null; x or 0.
CREATE OR REPLACE TEMP MACRO nn(x) AS (x IS NOT NULL)::INTEGER;
CREATE OR REPLACE TEMP MACRO z(x) AS coalesce(x, 0.0);
-- Driver sort key (see `keys` below); null when the metric is not present.
-- (wp = Σ present group weights, null when 0; a group of weight 0 gives loss 0.)
CREATE OR REPLACE TEMP MACRO dkey(points, w_g, wp, k_g, name_rank) AS
    CAST(round((100 - points) * w_g / wp / k_g * 1e9) AS BIGINT) * 16 + (15 - name_rank);
CREATE OR REPLACE TEMP MACRO lt(k, t) AS CASE WHEN k < t THEN k END;
-- Metric name of a driver key; null unless its loss (9 decimals) is > 0.
CREATE OR REPLACE TEMP MACRO driver_name(t) AS CASE WHEN t >= 16 THEN
    ['active_days_30d', 'csat_180d', 'feature_breadth_30d', 'login_trend', 'logins_per_seat_30d',
     'max_days_past_due_90d', 'mrr_change_90d', 'mrr_percentile', 'nps_180d', 'onboarding_pct',
     'seat_utilization_30d', 'tickets_30d', 'urgent_share_90d'][16 - t % 16] END;

-- The feature dictionary of usage (a scan of that one dictionary-encoded
-- column); features are bits of a BIGINT mask, so at most 63 of them.
CREATE OR REPLACE TEMP TABLE feature_dict AS
    SELECT DISTINCT feature FROM read_parquet('{input}/usage/*.parquet') WHERE feature IS NOT NULL;
SELECT CASE WHEN count(*) > 63 THEN error('more than 63 distinct usage features') END FROM feature_dict;
CREATE OR REPLACE TYPE feature_t AS ENUM (SELECT feature FROM feature_dict);

COPY (
WITH
-- accounts: null customer_id rejected, signup_date > D left out
acc AS (
    SELECT customer_id, name, segment, seats, onboarding_completion_pct,
           DATE '{as_of}' - signup_date AS tenure_days
    FROM read_parquet('{input}/accounts/*.parquet')
    WHERE customer_id IS NOT NULL
      AND (signup_date IS NULL OR signup_date <= DATE '{as_of}')
),
-- All event tables in one aggregation: each table's scan (its widest window,
-- its §7 rules) projects its per-row contributions; one GROUP BY customer_id.
--  usage (60 days = 30d and 30d offset by 30): logins in (D−30, D] and
--    (D−60, D−30], max login users in (D−30, D], day d of (D−30, D] with
--    events > 0 as bit D − d, a non-login feature with events > 0 in
--    (D−30, D] as the bit of its ENUM code; null feature/events/users and
--    negative events/users rejected.
--  support_tickets (90 days on opened_at's UTC date): count in 30d and 90d,
--    high/urgent in 90d; null ticket_id/opened_at/priority and unknown
--    priorities rejected (closed_at may be null).
--  survey_responses (180 days on responded_at): nps / csat scores; null or
--    unknown kind, null score, nps outside 0-10, csat outside 1-5 rejected.
--  revenue: a month counts as its first day, so the 90-day window holds the
--    months whose first day is in (D − 90, D]: raw month in
--    [trunc(D − 90) + 1 month, trunc(D) + 1 month). Those are at most 4
--    calendar months, slots m0..m3 (m3 = D's month); max(mrr) per slot gives
--    first/last by month with ties on a month giving their largest mrr.
--    Null month/mrr/days_past_due, NaN mrr, negative mrr/days_past_due
--    rejected.
ev AS (
    SELECT customer_id,
        sum(l30) AS logins_30d, sum(lp30) AS logins_prev_30d, max(u30) AS login_users_30d,
        bit_or(dbit) AS day_mask, bit_or(fbit) AS feature_mask,
        sum(t30) AS tickets_30d, sum(t90) AS tickets_90d, sum(urg) AS urgent_90d,
        avg(nps) AS nps_180d, avg(csat) AS csat_180d,
        max(m3) AS m3, max(m2) AS m2, max(m1) AS m1, max(m0) AS m0, max(dpd) AS max_dpd
    FROM (
        SELECT customer_id,
            CASE WHEN feature = 'login' AND date > DATE '{as_of}' - 30 THEN events END  AS l30,
            CASE WHEN feature = 'login' AND date <= DATE '{as_of}' - 30 THEN events END AS lp30,
            CASE WHEN feature = 'login' AND date > DATE '{as_of}' - 30 THEN users END   AS u30,
            CASE WHEN events > 0 AND date > DATE '{as_of}' - 30 THEN 1::BIGINT << (DATE '{as_of}' - date) END AS dbit,
            CASE WHEN events > 0 AND feature <> 'login' AND date > DATE '{as_of}' - 30
                 THEN 1::BIGINT << enum_code(feature::feature_t) END AS fbit,
            NULL::INTEGER AS t30, NULL::INTEGER AS t90, NULL::INTEGER AS urg,
            NULL::BIGINT AS nps, NULL::BIGINT AS csat,
            NULL::DOUBLE AS m3, NULL::DOUBLE AS m2, NULL::DOUBLE AS m1, NULL::DOUBLE AS m0, NULL::INTEGER AS dpd
        FROM read_parquet('{input}/usage/*.parquet')
        WHERE date > DATE '{as_of}' - 60 AND date <= DATE '{as_of}'
          AND feature IS NOT NULL AND events >= 0 AND users >= 0
        UNION ALL BY NAME
        SELECT customer_id,
            (opened_at >= CAST(DATE '{as_of}' - 29 AS TIMESTAMPTZ))::INTEGER AS t30,
            1 AS t90,
            (priority IN ('high', 'urgent'))::INTEGER AS urg
        FROM read_parquet('{input}/support_tickets/*.parquet')
        WHERE opened_at >= CAST(DATE '{as_of}' - 89 AS TIMESTAMPTZ)
          AND opened_at <  CAST(DATE '{as_of}' + 1 AS TIMESTAMPTZ)
          AND ticket_id IS NOT NULL
          AND priority IN ('low', 'normal', 'high', 'urgent')
        UNION ALL BY NAME
        SELECT customer_id,
            CASE WHEN kind = 'nps' THEN score END AS nps,
            CASE WHEN kind = 'csat' THEN score END AS csat
        FROM read_parquet('{input}/survey_responses/*.parquet')
        WHERE responded_at >= CAST(DATE '{as_of}' - 179 AS TIMESTAMP)
          AND responded_at <  CAST(DATE '{as_of}' + 1 AS TIMESTAMP)
          AND ((kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5))
        UNION ALL BY NAME
        SELECT customer_id,
            CASE WHEN month >= CAST(date_trunc('month', DATE '{as_of}') AS DATE) THEN mrr END AS m3,
            CASE WHEN month >= CAST(date_trunc('month', DATE '{as_of}') - INTERVAL 1 MONTH AS DATE)
                  AND month <  CAST(date_trunc('month', DATE '{as_of}') AS DATE) THEN mrr END AS m2,
            CASE WHEN month >= CAST(date_trunc('month', DATE '{as_of}') - INTERVAL 2 MONTH AS DATE)
                  AND month <  CAST(date_trunc('month', DATE '{as_of}') - INTERVAL 1 MONTH AS DATE) THEN mrr END AS m1,
            CASE WHEN month <  CAST(date_trunc('month', DATE '{as_of}') - INTERVAL 2 MONTH AS DATE) THEN mrr END AS m0,
            days_past_due AS dpd
        FROM read_parquet('{input}/revenue/*.parquet')
        WHERE month >= CAST(date_trunc('month', DATE '{as_of}' - 90) + INTERVAL 1 MONTH AS DATE)
          AND month <  CAST(date_trunc('month', DATE '{as_of}') + INTERVAL 1 MONTH AS DATE)
          AND mrr >= 0 AND NOT isnan(mrr) AND days_past_due >= 0
    )
    GROUP BY customer_id
),
-- raw metric values per account (missing → null)
raw AS (
    SELECT a.customer_id, a.name, a.segment,
        CASE WHEN a.tenure_days < 90 THEN 'onboarding'
             WHEN a.segment = 'enterprise' THEN 'enterprise'
             ELSE 'standard' END                                   AS scorecard,
        coalesce(e.logins_30d, 0)::DOUBLE                          AS logins_30d,
        coalesce(e.logins_prev_30d, 0)::DOUBLE                     AS logins_prev_30d,
        fin(coalesce(e.m3, e.m2, e.m1, e.m0))                      AS mrr_latest,
        fin(coalesce(e.m0, e.m1, e.m2, e.m3))                      AS mrr_first,
        ratio(coalesce(e.logins_30d, 0), a.seats)                  AS logins_per_seat_30d,
        coalesce(bit_count(e.feature_mask), 0)::DOUBLE             AS feature_breadth_30d,
        coalesce(bit_count(e.day_mask), 0)::DOUBLE                 AS active_days_30d,
        fin(e.nps_180d)                                            AS nps_180d,
        fin(e.csat_180d)                                           AS csat_180d,
        ratio(coalesce(e.logins_30d, 0), coalesce(e.logins_prev_30d, 0)) AS login_trend,
        ratio(coalesce(e.m3, e.m2, e.m1, e.m0), coalesce(e.m0, e.m1, e.m2, e.m3))                         AS mrr_change_90d,
        e.max_dpd::DOUBLE                                          AS max_days_past_due_90d,
        coalesce(e.tickets_30d, 0)::DOUBLE                         AS tickets_30d,
        ratio(e.urgent_90d, e.tickets_90d)                         AS urgent_share_90d,
        fin(a.onboarding_completion_pct::DOUBLE)                   AS onboarding_pct,
        ratio(e.login_users_30d, a.seats)                          AS seat_utilization_30d,
        fin(coalesce(e.m3, e.m2, e.m1, e.m0))                      AS mrr_percentile
    FROM acc a
    LEFT JOIN ev e USING (customer_id)
),
-- percentile points from counts per distinct value within each scorecard:
-- m = values no better than x (ties in the customer's favour)
tk_pct AS (
    SELECT scorecard, v,
        CASE WHEN n = 1 THEN 100.0 ELSE 100.0 * (m - 1) / (n - 1) END AS pts
    FROM (SELECT scorecard, v,
              sum(c) OVER (PARTITION BY scorecard ORDER BY v DESC) AS m,  -- lower is better: ≥ x
              sum(c) OVER (PARTITION BY scorecard)                 AS n
          FROM (SELECT scorecard, tickets_30d AS v, count(*) AS c
                FROM raw WHERE tickets_30d IS NOT NULL GROUP BY ALL))
),
mrr_pct AS (
    SELECT scorecard, v,
        CASE WHEN n = 1 THEN 100.0 ELSE 100.0 * (m - 1) / (n - 1) END AS pts
    FROM (SELECT scorecard, v,
              sum(c) OVER (PARTITION BY scorecard ORDER BY v ASC) AS m,   -- higher is better: ≤ x
              sum(c) OVER (PARTITION BY scorecard)                AS n
          FROM (SELECT scorecard, mrr_percentile AS v, count(*) AS c
                FROM raw WHERE mrr_percentile IS NOT NULL GROUP BY ALL))
),
-- points (missing policies applied) and scorecard weights
pts AS (
    SELECT raw.*,
        lin(logins_per_seat_30d, 0, 20)                            AS logins_per_seat_30d_points,
        lin(feature_breadth_30d, 0, 8)                             AS feature_breadth_30d_points,
        lin(active_days_30d, 0, 20)                                AS active_days_30d_points,
        lin(nps_180d, 0, 10)                                       AS nps_180d_points,
        lin(csat_180d, 1, 5)                                       AS csat_180d_points,
        coalesce(lin(login_trend, 0.5, 1.2), 50.0)                 AS login_trend_points,
        lin(mrr_change_90d, 0.8, 1.1)                              AS mrr_change_90d_points,
        CASE WHEN max_days_past_due_90d IS NULL THEN NULL
             WHEN max_days_past_due_90d >= 60 THEN 0.0::DOUBLE
             WHEN max_days_past_due_90d >= 30 THEN 25.0::DOUBLE
             WHEN max_days_past_due_90d >= 15 THEN 50.0::DOUBLE
             WHEN max_days_past_due_90d >= 1  THEN 75.0::DOUBLE
             ELSE 100.0::DOUBLE END                                        AS max_days_past_due_90d_points,
        tk.pts                                                     AS tickets_30d_points,
        coalesce(lin(urgent_share_90d, 0.5, 0), 100.0)            AS urgent_share_90d_points,
        coalesce(lin(onboarding_pct, 0, 100), 0.0)                 AS onboarding_pct_points,
        coalesce(lin(seat_utilization_30d, 0, 0.8), 0.0)           AS seat_utilization_30d_points,
        mp.pts                                                     AS mrr_percentile_points,
        -- weights: adoption, sentiment, churn_risk, support, onboarding, engagement, revenue
        CASE raw.scorecard WHEN 'onboarding' THEN 30 WHEN 'enterprise' THEN 20 ELSE 25 END AS w_ad,
        CASE raw.scorecard WHEN 'onboarding' THEN 10 WHEN 'enterprise' THEN 25 ELSE 20 END AS w_se,
        CASE raw.scorecard WHEN 'onboarding' THEN  0 WHEN 'enterprise' THEN 20 ELSE 20 END AS w_ch,
        CASE raw.scorecard WHEN 'onboarding' THEN 20 WHEN 'enterprise' THEN 20 ELSE 15 END AS w_su,
        CASE raw.scorecard WHEN 'onboarding' THEN 40 WHEN 'enterprise' THEN  5 ELSE 10 END AS w_on,
        CASE raw.scorecard WHEN 'onboarding' THEN  0 WHEN 'enterprise' THEN  5 ELSE  5 END AS w_en,
        CASE raw.scorecard WHEN 'onboarding' THEN  0 WHEN 'enterprise' THEN  5 ELSE  5 END AS w_re
    FROM raw
    LEFT JOIN tk_pct tk ON tk.scorecard = raw.scorecard AND tk.v = raw.tickets_30d
    LEFT JOIN mrr_pct mp ON mp.scorecard = raw.scorecard AND mp.v = raw.mrr_percentile
),
-- groups: mean of the present metrics' points (equal metric weights),
-- k_* = present metrics per group, o_* = observed share of the group
grp AS (
    SELECT *,
        nn(logins_per_seat_30d_points) + nn(feature_breadth_30d_points) + nn(active_days_30d_points) AS k_ad,
        nn(nps_180d_points) + nn(csat_180d_points)                                                   AS k_se,
        nn(login_trend_points) + nn(mrr_change_90d_points) + nn(max_days_past_due_90d_points)        AS k_ch,
        nn(tickets_30d_points) + nn(urgent_share_90d_points)                                         AS k_su,
        nn(onboarding_pct_points)                                                                    AS k_on,
        nn(seat_utilization_30d_points)                                                              AS k_en,
        nn(mrr_percentile_points)                                                                    AS k_re,
        (nn(logins_per_seat_30d) + nn(feature_breadth_30d) + nn(active_days_30d)) / 3.0  AS o_ad,
        (nn(nps_180d) + nn(csat_180d)) / 2.0                                             AS o_se,
        (nn(login_trend) + nn(mrr_change_90d) + nn(max_days_past_due_90d)) / 3.0         AS o_ch,
        (nn(tickets_30d) + nn(urgent_share_90d)) / 2.0                                   AS o_su,
        nn(onboarding_pct)::DOUBLE                                                        AS o_on,
        nn(seat_utilization_30d)::DOUBLE                                                  AS o_en,
        nn(mrr_percentile)::DOUBLE                                                        AS o_re
    FROM pts
),
g AS (
    SELECT *,
        CASE WHEN w_ad > 0 AND k_ad > 0 THEN (z(logins_per_seat_30d_points) + z(feature_breadth_30d_points) + z(active_days_30d_points)) / k_ad END AS adoption_score,
        CASE WHEN w_se > 0 AND k_se > 0 THEN (z(nps_180d_points) + z(csat_180d_points)) / k_se END AS sentiment_score,
        CASE WHEN w_ch > 0 AND k_ch > 0 THEN (z(login_trend_points) + z(mrr_change_90d_points) + z(max_days_past_due_90d_points)) / k_ch END AS churn_risk_score,
        CASE WHEN w_su > 0 AND k_su > 0 THEN (z(tickets_30d_points) + z(urgent_share_90d_points)) / k_su END AS support_score,
        CASE WHEN w_on > 0 AND k_on > 0 THEN onboarding_pct_points END AS onboarding_score,
        CASE WHEN w_en > 0 AND k_en > 0 THEN seat_utilization_30d_points END AS engagement_score,
        CASE WHEN w_re > 0 AND k_re > 0 THEN mrr_percentile_points END AS revenue_score
    FROM grp
),
sc AS (
    SELECT *,
        -- Σ weights of the present groups (weight > 0)
        (CASE WHEN adoption_score   IS NOT NULL THEN w_ad ELSE 0 END
       + CASE WHEN sentiment_score  IS NOT NULL THEN w_se ELSE 0 END
       + CASE WHEN churn_risk_score IS NOT NULL THEN w_ch ELSE 0 END
       + CASE WHEN support_score    IS NOT NULL THEN w_su ELSE 0 END
       + CASE WHEN onboarding_score IS NOT NULL THEN w_on ELSE 0 END
       + CASE WHEN engagement_score IS NOT NULL THEN w_en ELSE 0 END
       + CASE WHEN revenue_score    IS NOT NULL THEN w_re ELSE 0 END)::DOUBLE AS w_present,
        (w_ad * o_ad + w_se * o_se + w_ch * o_ch + w_su * o_su + w_on * o_on + w_en * o_en + w_re * o_re)
          / (w_ad + w_se + w_ch + w_su + w_on + w_en + w_re)                  AS completeness_all
    FROM g
),
fin_score AS (
    SELECT *,
        CASE WHEN w_present > 0 THEN
            (w_ad * z(adoption_score) + w_se * z(sentiment_score) + w_ch * z(churn_risk_score)
           + w_su * z(support_score) + w_on * z(onboarding_score) + w_en * z(engagement_score)
           + w_re * z(revenue_score)) / w_present END AS score_raw,
        nullif(w_present, 0) AS wp
    FROM sc
),
-- drivers: loss = (100 − points) · w_g/Σpresent w · 1/(present metrics in g),
-- compared rounded to 9 decimals. Key = round(loss · 1e9) · 16 + (15 − rank of
-- the metric's name), so the largest key is the largest loss, ties going to
-- the name first in byte order; the top 3 are three greatest() passes.
-- Names by rank: 0 active_days_30d, 1 csat_180d, 2 feature_breadth_30d,
-- 3 login_trend, 4 logins_per_seat_30d, 5 max_days_past_due_90d,
-- 6 mrr_change_90d, 7 mrr_percentile, 8 nps_180d, 9 onboarding_pct,
-- 10 seat_utilization_30d, 11 tickets_30d, 12 urgent_share_90d.
keys AS (
    SELECT *,
        CAST(round(round(score_raw, 9)) AS INTEGER) AS score,
        dkey(active_days_30d_points,       w_ad, wp, k_ad,  0) AS k00,
        dkey(csat_180d_points,             w_se, wp, k_se,  1) AS k01,
        dkey(feature_breadth_30d_points,   w_ad, wp, k_ad,  2) AS k02,
        dkey(login_trend_points,           w_ch, wp, k_ch,  3) AS k03,
        dkey(logins_per_seat_30d_points,   w_ad, wp, k_ad,  4) AS k04,
        dkey(max_days_past_due_90d_points, w_ch, wp, k_ch,  5) AS k05,
        dkey(mrr_change_90d_points,        w_ch, wp, k_ch,  6) AS k06,
        dkey(mrr_percentile_points,        w_re, wp, k_re,  7) AS k07,
        dkey(nps_180d_points,              w_se, wp, k_se,  8) AS k08,
        dkey(onboarding_pct_points,        w_on, wp, k_on,  9) AS k09,
        dkey(seat_utilization_30d_points,  w_en, wp, k_en, 10) AS k10,
        dkey(tickets_30d_points,           w_su, wp, k_su, 11) AS k11,
        dkey(urgent_share_90d_points,      w_su, wp, k_su, 12) AS k12
    FROM fin_score
),
top1 AS (
    SELECT *, greatest(k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, k12) AS t1
    FROM keys
),
top2 AS (
    SELECT *, greatest(lt(k00, t1), lt(k01, t1), lt(k02, t1), lt(k03, t1), lt(k04, t1), lt(k05, t1), lt(k06, t1),
                       lt(k07, t1), lt(k08, t1), lt(k09, t1), lt(k10, t1), lt(k11, t1), lt(k12, t1)) AS t2
    FROM top1
),
drv AS (
    SELECT *, greatest(lt(k00, t2), lt(k01, t2), lt(k02, t2), lt(k03, t2), lt(k04, t2), lt(k05, t2), lt(k06, t2),
                       lt(k07, t2), lt(k08, t2), lt(k09, t2), lt(k10, t2), lt(k11, t2), lt(k12, t2)) AS t3
    FROM top2
)
SELECT
    customer_id,
    name                                                   AS customer_name,
    segment,
    scorecard,
    score,
    score_raw,
    CASE WHEN score IS NULL THEN 'Unscored'
         WHEN score <= 40 THEN 'Critical'
         WHEN score <= 60 THEN 'At-Risk'
         WHEN score <= 80 THEN 'Healthy'
         ELSE 'Thriving' END                               AS band,
    CASE WHEN score IS NULL THEN 'grey'
         WHEN score <= 40 THEN 'red'
         WHEN score <= 60 THEN 'yellow'
         ELSE 'green' END                                  AS color,
    CASE WHEN score IS NULL THEN 0.0 ELSE completeness_all END AS completeness,
    CASE WHEN score IS NOT NULL AND t1 >= 16
         THEN concat_ws(',', driver_name(t1), driver_name(t2), driver_name(t3)) END AS top_drivers,
    CASE WHEN score IS NOT NULL AND t1 >= 16
         THEN ['adoption-workshop', 'executive-check-in', 'adoption-workshop', 'renewal-risk-review',
               'adoption-workshop', 'renewal-risk-review', 'renewal-risk-review', 'expansion-review',
               'executive-check-in', 'onboarding-acceleration', 'seat-activation',
               'support-escalation-review', 'support-escalation-review'][16 - t1 % 16] END AS playbook,
    NULL::INTEGER                                          AS prev_score,
    NULL::VARCHAR                                          AS prev_band,
    NULL::INTEGER                                          AS score_change,
    'new'                                                  AS trend,
    adoption_score, sentiment_score, churn_risk_score, support_score,
    onboarding_score, engagement_score, revenue_score,
    logins_30d, logins_prev_30d, mrr_latest, mrr_first,
    logins_per_seat_30d,   logins_per_seat_30d_points,
    feature_breadth_30d,   feature_breadth_30d_points,
    active_days_30d,       active_days_30d_points,
    nps_180d,              nps_180d_points,
    csat_180d,             csat_180d_points,
    login_trend,           login_trend_points,
    mrr_change_90d,        mrr_change_90d_points,
    max_days_past_due_90d, max_days_past_due_90d_points,
    tickets_30d,           tickets_30d_points,
    urgent_share_90d,      urgent_share_90d_points,
    onboarding_pct,        onboarding_pct_points,
    seat_utilization_30d,  seat_utilization_30d_points,
    mrr_percentile,        mrr_percentile_points,
    'default@1'                                            AS model_version
FROM drv
ORDER BY customer_id
) TO '{out}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 131072);
