//! Every accepted widening is read as the contract's type

use super::*;

fn ints_as(dt: DataType) -> impl Fn(&str, DataFrame) -> DataFrame {
    move |t, df| match t {
        "usage" => recast(recast(df, "events", dt.clone()), "users", dt.clone()),
        "survey_responses" => recast(df, "score", dt.clone()),
        "revenue" => recast(df, "days_past_due", dt.clone()),
        "accounts" => recast(df, "seats", dt.clone()),
        _ => df,
    }
}

#[test]
fn int8_columns_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), ints_as(DataType::Int8));
}

#[test]
fn int16_columns_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), ints_as(DataType::Int16));
}

#[test]
fn int32_columns_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), ints_as(DataType::Int32));
}

#[test]
fn unsigned_columns_are_accepted() {
    let fx = Fixture::valid(4);
    assert_read_like_baseline(&fx, ints_as(DataType::UInt8));
    assert_read_like_baseline(&fx, ints_as(DataType::UInt16));
    assert_read_like_baseline(&fx, ints_as(DataType::UInt32));
    assert_read_like_baseline(&fx, ints_as(DataType::UInt64));
}

#[test]
fn float32_and_integer_numeric_columns_are_accepted() {
    // Values exact in f32 and in integers.
    let mut fx = Fixture::valid(4);
    for r in &mut fx.revenue {
        r.mrr = r.mrr.map(f64::round);
    }
    for a in &mut fx.accounts {
        a.pct = a.pct.map(f64::round);
    }
    assert_read_like_baseline(&fx, |t, df| match t {
        "revenue" => recast(df, "mrr", DataType::Float32),
        "accounts" => recast(df, "onboarding_completion_pct", DataType::Float32),
        _ => df,
    });
    assert_read_like_baseline(&fx, |t, df| match t {
        "revenue" => recast(df, "mrr", DataType::Int64),
        "accounts" => recast(df, "onboarding_completion_pct", DataType::Int32),
        _ => df,
    });
}

#[test]
fn date_column_as_timestamp_in_every_unit_and_zone_is_accepted() {
    let fx = Fixture::valid(4);
    let expected = baseline_scores(&fx);
    let days: Vec<Option<i64>> = fx.usage.iter().map(|u| u.day).collect();
    let months: Vec<Option<i64>> = fx.revenue.iter().map(|r| r.month).collect();
    for unit in [
        TimeUnit::Milliseconds,
        TimeUnit::Microseconds,
        TimeUnit::Nanoseconds,
    ] {
        for tz in [
            None,
            Some("UTC"),
            Some("America/New_York"),
            Some("Asia/Tokyo"),
        ] {
            let case = Case::lenient();
            fx.write_with(&case.input(), |t, df| match t {
                // 10:00 UTC: the same UTC calendar date as the plain Date.
                "usage" => with_col(df, ts_unit_col("date", &days, 36_000, unit, tz)),
                "revenue" => with_col(df, ts_unit_col("month", &months, 36_000, unit, tz)),
                _ => df,
            });
            let r = case.run(&[]);
            assert_ok(&r);
            assert_balanced(&case.manifest(), &fx);
            assert!(
                case.scores().equals_missing(&expected),
                "{unit:?} {tz:?} differs"
            );
        }
    }
}

#[test]
fn timestamp_columns_as_date_and_other_units_are_accepted() {
    let fx = Fixture::valid(4);
    let opened: Vec<Option<i64>> = fx.tickets.iter().map(|t| t.opened).collect();
    let at: Vec<Option<i64>> = fx.surveys.iter().map(|s| s.at).collect();
    assert_read_like_baseline(&fx, |t, df| match t {
        "support_tickets" => with_col(df, date_col("opened_at", &opened)),
        "survey_responses" => with_col(
            df,
            ts_unit_col(
                "responded_at",
                &at,
                43_200,
                TimeUnit::Nanoseconds,
                Some("Europe/Berlin"),
            ),
        ),
        "accounts" => {
            let signup: Vec<Option<i64>> = fx.accounts.iter().map(|a| a.signup).collect();
            with_col(
                df,
                ts_unit_col("signup_date", &signup, 0, TimeUnit::Milliseconds, None),
            )
        }
        _ => df,
    });
}

#[test]
fn the_utc_calendar_date_of_a_zoned_timestamp_is_used() {
    // 2026-11-24T23:30:00-05:00 is 2026-11-25 04:30 UTC: after D.
    // 2026-11-25T01:00:00+09:00 is 2026-11-24 16:00 UTC: on D.
    let fx = Fixture::valid(4);
    let case = Case::lenient();
    let mut days: Vec<Option<i64>> = fx.usage.iter().map(|u| u.day).collect();
    days[0] = Some(-1); // 2026-11-25, 04:30 UTC
    days[1] = Some(0); // 2026-11-24, 16:00 UTC
    fx.write_with(&case.input(), |t, df| {
        if t != "usage" {
            return df;
        }
        // Seconds into the UTC day: row 0 at 04:30, row 1 at 16:00, others noon.
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let v: Vec<Option<i64>> = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let secs = match i {
                    0 => 4 * 3600 + 1800,
                    1 => 16 * 3600,
                    _ => 12 * 3600,
                };
                d.map(|d| ((day(d) - epoch).num_days() * 86_400 + secs) * 1_000_000)
            })
            .collect();
        let tz0 = TimeZone::opt_try_new(Some("America/New_York")).unwrap();
        let c = Series::new("date".into(), v)
            .cast(&DataType::Datetime(TimeUnit::Microseconds, tz0))
            .unwrap()
            .into_column();
        with_col(df, c)
    });
    let r = case.run(&[]);
    assert_ok(&r);
    let m = case.manifest();
    assert_eq!(count(&m, "usage", "after_as_of"), 1);
    assert_eq!(
        counts(&m, "usage")["latest_event_date"].as_str(),
        Some(D),
        "the +09:00 row is dated D in UTC"
    );
    let mut fx2 = fx.clone();
    fx2.usage[0].day = Some(-1);
    assert_balanced(&m, &fx2);
}

#[test]
fn categorical_strings_are_accepted() {
    assert_read_like_baseline(&Fixture::valid(4), |t, df| {
        let cat = DataType::from_categories(Categories::global());
        match t {
            "accounts" => recast(recast(df, "segment", cat.clone()), "customer_id", cat),
            "usage" => recast(recast(df, "feature", cat.clone()), "customer_id", cat),
            "support_tickets" => recast(df, "priority", cat),
            "survey_responses" => recast(df, "kind", cat),
            _ => df,
        }
    });
}
