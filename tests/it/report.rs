//! `healthscore report` and the backtest's report.html, rendered in
//! headless Chromium (Debian's package `chromium`, installed by `make
//! venv`): the rendered page's text against the snapshots' tables and
//! manifest, customer names shown as text and never as markup, and no
//! request leaving the page (Chromium's net log). Without Chromium these
//! tests fail, naming the package; they are never skipped.

use crate::common;
use common::*;
use polars::prelude::*;
use std::path::{Path, PathBuf};

const CHROMIUM: &str = "/usr/bin/chromium";
const PREV: &str = "2026-11-17";

/// Headless Chromium, or a failure that names the package to install.
fn chromium() -> PathBuf {
    let p = PathBuf::from(CHROMIUM);
    assert!(
        p.exists(),
        "{CHROMIUM} not found: the HTML report tests need Debian's package `chromium`. \
         Run `make venv` (or `make test`), which installs it as root or with `sudo -n`, \
         or install it yourself: apt-get install -y --no-install-recommends chromium"
    );
    p
}

/// A page as Chromium rendered it.
struct Rendered {
    /// The DOM after loading (`--dump-dom`).
    dom: String,
    /// The DOM's text: tags replaced by spaces, entities decoded,
    /// whitespace collapsed.
    text: String,
    /// URLs of the requests the page made (net log requests whose initiator
    /// or top-frame site is the file:// page).
    page_requests: Vec<String>,
    /// Every URL in the net log, the browser's own background requests
    /// (e.g. accounts.google.com/ListAccounts, which no switch turns off)
    /// included; for the failure message.
    all_urls: Vec<String>,
}

/// Loads `html` in headless Chromium with networking features off and a
/// net log, returns the DOM and the requests.
fn render(html: &Path) -> Rendered {
    let chromium = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let net_log = tmp.path().join("net.json");
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let o = std::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=NetworkTimeServiceQuerying,AimEnabled",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success() && dom.contains("</html>"),
        "chromium failed on {url} ({:?}):\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let log: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&net_log)
            .unwrap_or_else(|e| panic!("no net log {}: {e}", net_log.display())),
    )
    .expect("the net log is JSON");
    let (page_requests, all_urls) = requests(&log);
    Rendered {
        text: text_of(&dom),
        dom,
        page_requests,
        all_urls,
    }
}

/// The requests of a net log: (those of the page, every URL).
fn requests(log: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let mut page = Vec::new();
    let mut all = Vec::new();
    for e in log["events"].as_array().expect("net log events") {
        let p = &e["params"];
        let Some(url) = p["url"].as_str() else {
            continue;
        };
        all.push(url.to_string());
        let initiator = p["initiator"].as_str().unwrap_or("not an origin");
        let nik = p["network_isolation_key"].as_str().unwrap_or("");
        if initiator != "not an origin" || nik.starts_with("file://") {
            page.push(url.to_string());
        }
    }
    page.dedup();
    all.sort();
    all.dedup();
    (page, all)
}

/// Text of an HTML serialisation, for assertions on what a reader sees.
fn text_of(dom: &str) -> String {
    let mut out = String::with_capacity(dom.len());
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The page made no request at all (the file:// page itself is loaded by
/// the browser, not by the page).
fn assert_no_request(r: &Rendered, html: &Path) {
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let other: Vec<&String> = r.page_requests.iter().filter(|u| **u != url).collect();
    assert!(
        other.is_empty(),
        "the page made requests: {other:?} (all URLs in the net log: {:?})",
        r.all_urls
    );
}

/// The default pipeline on (a copy of) sample_data as of 2026-11-17 then
/// 2026-11-24, committed under `dir/out`.
fn two_dates(input: &Path, out: &Path) {
    for d in [PREV, D] {
        let o = healthscore(&[
            "run",
            "--pipeline",
            repo().join("pipelines/default.toml").to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--as-of",
            d,
        ]);
        assert_eq!(o.code, 0, "run {d}: {}\n{}", o.stdout, o.stderr);
    }
}

fn report(out: &Path, extra: &[&str]) -> Out {
    let mut args = vec!["report", "--output", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    healthscore(&args)
}

/// Accounts per band of a summary table, in its row order of first
/// appearance.
fn summary_bands(out: &Path, date: &str) -> Vec<(String, i64)> {
    let s = read_parquet(&out.join(format!("summary/snapshot_date={date}")));
    let mut bands: Vec<(String, i64)> = Vec::new();
    for i in 0..s.height() {
        let b = common::s(&s, "band", i).unwrap();
        let n = f(&s, "accounts", i).unwrap() as i64;
        match bands.iter_mut().find(|(x, _)| *x == b) {
            Some((_, m)) => *m += n,
            None => bands.push((b, n)),
        }
    }
    bands
}

#[test]
fn report_on_sample_data_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    two_dates(&repo().join("sample_data"), &out);
    let page = tmp.path().join("report.html");
    let o = report(&out, &["--out", page.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("snapshot 2026-11-24, 2 dates"),
        "{}",
        o.stdout
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Without --out the same page goes to stdout.
    let stdout = report(&out, &[]);
    assert_eq!(stdout.code, 0, "{}", stdout.stderr);
    assert_eq!(stdout.stdout.trim_end(), html.trim_end());
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));

    let r = render(&page);
    assert_no_request(&r, &page);
    let t = &r.text;
    assert!(t.contains("Customer health on 2026-11-24"), "{t}");
    assert!(t.contains("changes against 2026-11-17"), "{t}");

    // The band mix: every band of the date's summary with its accounts and
    // share, and the history row of each date.
    let bands = summary_bands(&out, D);
    let total: i64 = bands.iter().map(|b| b.1).sum();
    assert_eq!(total, 1995);
    for (b, n) in &bands {
        let row = format!("{b} {n} {:.1}%", *n as f64 / total as f64 * 100.0);
        assert!(t.contains(&row), "band mix row `{row}` missing:\n{t}");
    }
    for date in [PREV, D] {
        let bands = summary_bands(&out, date);
        let row = format!(
            "{date} {} {}",
            bands
                .iter()
                .map(|b| b.1.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            bands.iter().map(|b| b.1).sum::<i64>()
        );
        assert!(t.contains(&row), "history row `{row}` missing:\n{t}");
    }

    // Changes per kind, as the manifest counts them.
    let m = read_manifest(&out, D);
    let changes = m["changes"].as_object().expect("changes in the manifest");
    assert!(changes["band_down"].as_i64().unwrap() > 0);
    for kind in ["band_down", "drop", "band_up", "rise"] {
        let n = changes[kind].as_i64().unwrap();
        assert!(t.contains(&format!("{kind} {n} ")), "{kind} {n}:\n{t}");
        if n > 0 {
            let heading = format!("{kind} · {n} account");
            assert!(t.contains(&heading), "`{heading}` missing");
        }
    }
    // The first account to call: the changes table's first row, with its
    // band move, score change, cause and playbook on one table row.
    let c = read_parquet(&out.join("changes/snapshot_date=2026-11-24"));
    let row = format!(
        "{} {} {} → {} {} → {} ({:+}) {} {:+.2} {}",
        common::s(&c, "customer_name", 0).unwrap(),
        common::s(&c, "customer_id", 0).unwrap(),
        common::s(&c, "prev_band", 0).unwrap(),
        common::s(&c, "band", 0).unwrap(),
        f(&c, "prev_score", 0).unwrap(),
        f(&c, "score", 0).unwrap(),
        f(&c, "score_change", 0).unwrap() as i64,
        common::s(&c, "cause", 0).unwrap(),
        f(&c, "cause_delta", 0).unwrap(),
        common::s(&c, "playbook", 0).unwrap()
    );
    assert!(t.contains(&row), "change row `{row}` missing:\n{t}");
    assert!(t.contains("What moved them: causes"));
    assert!(t.contains("No overrides declared"));
    assert!(!r.dom.contains("<script"));

    // Only committed dates count: without 2026-11-24's marker the page is
    // 2026-11-17's, which has nothing to compare with.
    std::fs::remove_file(out.join("scores/snapshot_date=2026-11-24/_SUCCESS")).unwrap();
    let o = report(&out, &["--out", page.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = render(&page);
    assert!(
        r.text.contains("Customer health on 2026-11-17"),
        "{}",
        r.text
    );
    assert!(r
        .text
        .contains("No change on 2026-11-17: there is no previous"));
    assert_no_request(&r, &page);
    let o = report(&out, &["--as-of", D]);
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.stderr.contains("no committed snapshot for 2026-11-24"),
        "{}",
        o.stderr
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = report(&empty, &[]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("no committed snapshot under"),
        "{}",
        o.stderr
    );
}

#[test]
fn customer_names_are_text_not_markup() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    copy_sample_data(&input);
    // Every customer name starts with a script tag.
    let file = input.join("accounts/part-00000.parquet");
    let accounts = read_parquet(&file)
        .lazy()
        .with_column(
            concat_str([lit("<script>alert(1)</script> "), col("name")], "", false).alias("name"),
        )
        .collect()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    write_parquet(&input, "accounts/part-00000.parquet", accounts);
    let out = tmp.path().join("out");
    two_dates(&input, &out);
    let page = tmp.path().join("report.html");
    let o = report(&out, &["--out", page.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);

    let r = render(&page);
    assert_no_request(&r, &page);
    let c = read_parquet(&out.join("changes/snapshot_date=2026-11-24"));
    let name = common::s(&c, "customer_name", 0).unwrap();
    assert!(name.starts_with("<script>alert(1)</script> "));
    // Shown as text; no script element in the rendered document.
    assert!(r.text.contains(&name), "{name} missing:\n{}", r.text);
    assert!(r.dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!r.dom.contains("<script"), "a script element in the DOM");
}

#[test]
fn backtest_report_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let o = healthscore(&[
        "backtest",
        "--pipeline",
        repo().join("pipelines/default.toml").to_str().unwrap(),
        "--input",
        repo().join("sample_data").to_str().unwrap(),
        "--from",
        "2026-09-25",
        "--to",
        "2026-11-24",
        "--every",
        "30d",
        "--horizon",
        "90d",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let page = dir.join("report.html");
    let r = render(&page);
    assert_no_request(&r, &page);
    let t = &r.text;
    assert!(t.contains("Does the health score foresee churn?"), "{t}");
    assert!(t.contains("default@1"));
    let auc = json["models"][0]["pooled"]["auc"].as_f64().unwrap();
    assert!(
        t.contains(&format!("{auc:.3} ROC AUC")),
        "AUC {auc:.3} missing:\n{t}"
    );
    for d in json["models"][0]["per_date"].as_array().unwrap() {
        let row = format!(
            "{} {}",
            d["as_of"].as_str().unwrap(),
            d["all"]["accounts"].as_i64().unwrap()
        );
        assert!(t.contains(&row), "per-date row `{row}` missing");
    }
    assert!(r.dom.matches("<svg").count() >= 5);
    assert!(!r.dom.contains("<script"));
}

/// The request check is not vacuous: a page that loads an image and a
/// style sheet from the network is caught.
#[test]
fn the_net_log_sees_a_page_that_fetches() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("fetches.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:9/s.css"></head><body><p>hello</p><img src="http://127.0.0.1:9/i.png"></body></html>"#,
    )
    .unwrap();
    let r = render(&page);
    assert!(r.text.contains("hello"));
    for u in ["http://127.0.0.1:9/s.css", "http://127.0.0.1:9/i.png"] {
        assert!(
            r.page_requests.iter().any(|x| x == u),
            "{u} not seen: {:?}",
            r.all_urls
        );
    }
}

/// The overrides of a pipeline that declares them, from the scores
/// table's columns: who, why, the model's band and the expiry.
#[test]
fn overrides_in_force_are_listed_with_their_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_pct_accounts(&input, &[("a", Some(30.0)), ("b", Some(70.0))]);
    let overrides = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["a"]),
        Column::new("band".into(), ["Healthy"]),
        Column::new("reason".into(), ["sponsor <b>confirmed</b>"]),
        Column::new("set_by".into(), ["ann"]),
        date_col("set_on", &[Some(10)]),
        date_col("expires_on", &[Some(-20)]),
    ])
    .unwrap();
    write_parquet(&input, "overrides/part-0.parquet", overrides);
    let pipeline = pct_pipeline("1").replacen(
        "[sources.accounts]\npath = \"accounts\"",
        "[settings]\nlag_table = \"\"\n\n[sources.accounts]\npath = \"accounts\"\n[sources.overrides]\npath = \"overrides\"",
        1,
    );
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, pipeline).unwrap();
    let out = tmp.path().join("out");
    let o = healthscore(&[
        "run",
        "--pipeline",
        file.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let page = tmp.path().join("report.html");
    let o = report(&out, &["--out", page.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let r = render(&page);
    assert_no_request(&r, &page);
    let t = &r.text;
    assert!(
        t.contains("1 account with an override in force on 2026-11-24"),
        "{t}"
    );
    assert!(
        t.contains("a a Healthy Critical sponsor <b>confirmed</b> ann 2026-12-14"),
        "{t}"
    );
    assert!(!r.dom.contains("<b>confirmed"));
    assert!(!t.contains("No overrides declared"));
}
