//! SPEC §8 progress on stderr: on a terminal one live line per stage,
//! redrawn in place, with log lines printed above it (INFO lines only with
//! `-v`); off a terminal plain log lines, as schedulers expect. The
//! terminal is a real pseudo-terminal, made by util-linux's `script`.

use std::process::Command;

use crate::common::*;

/// Runs `healthscore run` on the sample data under a pseudo-terminal;
/// returns everything the terminal received.
fn on_a_terminal(extra: &[&str]) -> String {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("this test needs `script` (Debian package bsdutils / util-linux) to make a terminal")
        });
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = format!(
        "{} run --pipeline {} --input {} --output {} --as-of {D}",
        env!("CARGO_BIN_EXE_healthscore"),
        repo().join("pipelines/default.toml").display(),
        repo().join("sample_data").display(),
        tmp.path().join("out").display(),
    );
    for e in extra {
        cmd.push(' ');
        cmd.push_str(e);
    }
    let typescript = tmp.path().join("typescript");
    let o = Command::new(script)
        .args(["-q", "-e", "-c", &cmd])
        .arg(&typescript)
        .env_remove("HEALTHSCORE_AS_OF")
        .env_remove("HEALTHSCORE_LOG")
        .output()
        .expect("run script");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned()
}

#[test]
fn a_terminal_gets_one_live_line_per_stage_and_no_info_lines() {
    let screen = on_a_terminal(&[]);
    // The line is redrawn in place (carriage return, erase line) and names
    // each stage in turn.
    assert!(screen.contains("\r\u{1b}[2K"), "{screen:?}");
    for stage in ["open", "accounts", "aggregate · ", "score", "write"] {
        assert!(
            screen.contains(stage),
            "stage {stage} not shown: {screen:?}"
        );
    }
    // The rows of the aggregate stage: every row of the sample's event
    // tables the default pipeline reads, counted here.
    let rows: usize = ["usage", "support_tickets", "survey_responses", "revenue"]
        .iter()
        .map(|t| read_parquet(&repo().join("sample_data").join(t)).height())
        .sum();
    assert!(
        screen.contains(&format!("aggregate · {rows} rows")),
        "{rows}: {screen:?}"
    );
    // No INFO log line without -v, and the result on stdout.
    assert!(!screen.contains("stage done"), "{screen:?}");
    assert!(screen.contains("1995 accounts scored"), "{screen:?}");
}

#[test]
fn with_verbose_the_info_lines_are_printed_above_the_live_line() {
    let screen = on_a_terminal(&["-v"]);
    let lines: Vec<&str> = screen.split('\n').collect();
    let info: Vec<&&str> = lines.iter().filter(|l| l.contains("stage done")).collect();
    assert!(info.len() >= 5, "{screen:?}");
    for l in info {
        // Each log line starts on a cleared line (the live line lifted out
        // of the way: carriage return, erase line), never in the middle of
        // the live line's text: what follows the last clear is the log
        // line itself, from its timestamp on.
        let line = l.rsplit("\r\u{1b}[2K").next().unwrap();
        let text = line.trim_start_matches("\u{1b}[2m");
        assert!(
            text.starts_with("20") && text.contains("INFO"),
            "a log line torn through the live line: {l:?}"
        );
    }
}

#[test]
fn off_a_terminal_stderr_keeps_the_plain_log_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let o = healthscore(&[
        "run",
        "--pipeline",
        repo().join("pipelines/default.toml").to_str().unwrap(),
        "--input",
        repo().join("sample_data").to_str().unwrap(),
        "--output",
        tmp.path().join("out").to_str().unwrap(),
        "--as-of",
        D,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        !o.stderr.contains('\u{1b}'),
        "no terminal codes: {:?}",
        o.stderr
    );
    let done: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("stage done"))
        .collect();
    assert!(done.len() >= 5, "{}", o.stderr);
    assert!(done.iter().all(|l| l.contains(" INFO ")), "{}", o.stderr);
}
