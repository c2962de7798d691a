//! The report's figures and page on hand-made tables.

use super::*;

fn df(cols: Vec<Column>) -> DataFrame {
    DataFrame::new_infer_height(cols).unwrap()
}

fn data(overrides: Overrides, changes: Option<Changes>) -> ReportData {
    ReportData {
        output: "file:///o".into(),
        date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        previous: Some("2026-11-17".into()),
        model_version: "default@1".into(),
        tool_version: "0.1.0".into(),
        bands: vec![BandStyle {
            name: "Critical".into(),
            color: "#d64541".into(),
            opacity: 1.0,
        }],
        mix: vec![BandFigures {
            band: "Critical".into(),
            accounts: 2,
            share: 1.0,
            mean_score: Some(20.0),
            mrr: 100.0,
        }],
        accounts: 2,
        history: vec![DateMix {
            date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            by_band: [("Critical".to_string(), 2)].into_iter().collect(),
        }],
        changes,
        bands_held: None,
        overrides,
    }
}

#[test]
fn overrides_read_from_the_scores_columns_soonest_expiry_first() {
    let scores = df(vec![
        Column::new("customer_id".into(), ["a", "b", "c"]),
        Column::new("customer_name".into(), ["A", "<i>B</i>", "C"]),
        Column::new("band".into(), ["Healthy", "Critical", "At-Risk"]),
        Column::new("band_model".into(), ["At-Risk", "Healthy", "At-Risk"]),
        Column::new(
            "override_reason".into(),
            [Some("sponsor confirmed"), Some("<script>x</script>"), None],
        ),
        Column::new("override_set_by".into(), [Some("ann"), Some("bob"), None]),
        Column::new(
            "override_expires_on".into(),
            [Some(20_800i32), Some(20_790), None],
        )
        .cast(&DataType::Date)
        .unwrap(),
    ]);
    let Overrides::InForce { total, rows } = overrides_of(&scores).unwrap() else {
        panic!("declared");
    };
    assert_eq!(total, 2);
    assert_eq!(rows[0].customer_id, "b");
    assert_eq!(rows[0].expires_on.as_deref(), Some("2026-12-03"));
    assert_eq!(rows[1].band_model.as_deref(), Some("At-Risk"));
    let html = page::render(&data(Overrides::InForce { total, rows }, None));
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;") && !html.contains("<script"));
    assert!(html.contains("&lt;i&gt;B&lt;/i&gt;"));
    assert!(html.contains("2 accounts with an override in force on 2026-11-24"));
    assert!(html.contains("sponsor confirmed"));
}

#[test]
fn no_override_columns_means_none_declared() {
    let scores = df(vec![Column::new("customer_id".into(), ["a"])]);
    assert_eq!(overrides_of(&scores).unwrap(), Overrides::NotDeclared);
    let html = page::render(&data(Overrides::NotDeclared, None));
    assert!(html.contains("No overrides declared"));
    assert!(html.contains("no changes table"));
    assert!(html.contains(CSP_FRAGMENT));
}

const CSP_FRAGMENT: &str = "Content-Security-Policy\" content=\"default-src 'none'";

#[test]
fn changes_counted_per_kind_and_cause_and_capped() {
    let n = ROWS_PER_KIND + 3;
    let mut ids: Vec<String> = (0..n).map(|i| format!("c{i:03}")).collect();
    ids.push("z".into());
    let mut kinds = vec!["band_down"; n];
    kinds.push("rise");
    let mut causes: Vec<Option<&str>> = vec![Some("nps_180d"); n];
    causes.push(None);
    let changes = df(vec![
        Column::new("customer_id".into(), ids.clone()),
        Column::new("customer_name".into(), ids),
        Column::new("kind".into(), kinds),
        Column::new("prev_band".into(), vec!["Healthy"; n + 1]),
        Column::new("band".into(), vec!["Critical"; n + 1]),
        Column::new("prev_score".into(), vec![70i32; n + 1]),
        Column::new("score".into(), vec![30i32; n + 1]),
        Column::new("score_change".into(), vec![-40i32; n + 1]),
        Column::new("cause".into(), causes),
        Column::new("cause_delta".into(), vec![-3.5f64; n + 1]),
        Column::new("playbook".into(), vec!["executive-check-in"; n + 1]),
    ]);
    let p = Pipeline::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipelines/default.toml"
    ))
    .unwrap();
    let c = changes_of(&changes, &p).unwrap();
    assert_eq!(
        c.counts,
        vec![
            ("band_down".to_string(), n as i64),
            ("drop".to_string(), 0),
            ("band_up".to_string(), 0),
            ("rise".to_string(), 1)
        ]
    );
    assert_eq!(c.causes[0].cause.as_deref(), Some("nps_180d"));
    assert_eq!(c.causes[0].group.as_deref(), Some("sentiment"));
    assert_eq!((c.causes[0].down, c.causes[1].up), (n as i64, 1));
    let html = page::render(&data(Overrides::NotDeclared, Some(c)));
    assert!(html.contains(&format!("band_down · {n} accounts")));
    assert!(html.contains("… and 3 more band_down rows"));
    assert!(html.contains("c049") && !html.contains("c050"));
    assert!(html.contains("-3.50") && html.contains("executive-check-in"));
}

#[test]
fn bands_sharing_a_colour_get_lighter_shades() {
    let p = Pipeline::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipelines/default.toml"
    ))
    .unwrap();
    let history = vec![DateMix {
        date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        by_band: [("Legacy".to_string(), 1)].into_iter().collect(),
    }];
    let st = band_styles(&p, &history);
    let names: Vec<&str> = st.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        ["Critical", "At-Risk", "Healthy", "Thriving", "Unscored", "Legacy"]
    );
    assert_eq!(st[2].color, st[3].color);
    assert!(st[3].opacity < st[2].opacity);
}
