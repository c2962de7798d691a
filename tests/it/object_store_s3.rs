//! S3 against a real server: moto on 127.0.0.1, started and stopped here.
//! A full round trip (generate, check, run for two dates, explain) compared
//! byte for byte with a local run; per-URL options over the environment;
//! bounded retries ending in exit 1 that names the object; and no secret
//! in any output of a failing run.

use crate::common;
use crate::servers;
use std::time::{Duration, Instant};

use servers::*;

#[test]
fn s3_round_trip_matches_a_local_run() {
    // Small multipart parts need moto's minimum lowered (real S3: 5 MiB).
    let moto = moto_with_env(&[("S3_UPLOAD_PART_MIN_SIZE", "1024")]);
    create_bucket(&moto, "exports");
    create_bucket(&moto, "snapshots");
    round_trip(&Remote {
        input: "s3://exports/warehouse/daily".into(),
        output: "s3://snapshots/healthscore".into(),
        env: s3_env(&moto),
        options: s3_options(&moto),
        // Every Parquet part as a multipart upload of 16 KiB parts.
        multipart: vec![
            "multipart_threshold=1".into(),
            "multipart_part_size=16KiB".into(),
        ],
    });
    let log = moto.log();
    assert!(
        log.contains("uploadId") && log.contains("partNumber=2"),
        "the second run used multipart uploads with several parts:\n{log}"
    );
}

#[test]
fn per_url_options_override_the_environment() {
    let moto = moto();
    create_bucket(&moto, "exports");
    let mut env = s3_env(&moto);
    generate("20", D1, "s3://exports/in", &env);
    // The environment points at a closed port; the option puts it right.
    let closed = format!("http://127.0.0.1:{}", free_port());
    for (k, v) in env.iter_mut() {
        if k == "AWS_ENDPOINT_URL" {
            *v = closed.clone();
        }
    }
    let pipeline = common::repo().join("pipelines/default.toml");
    let pipeline = pipeline.to_str().unwrap();
    let endpoint = format!("aws_endpoint={}", moto.endpoint());
    let check = healthscore_with(
        &[
            "check",
            "--pipeline",
            pipeline,
            "--input",
            "s3://exports/in",
            "--as-of",
            D1,
            "--input-option",
            &endpoint,
        ],
        &env,
    );
    ok_code(&check, 0);
    // And the other way round: right environment, wrong option → exit 1
    // after bounded retries, naming the object and the operation.
    let env = s3_env(&moto);
    let wrong = format!("AWS_ENDPOINT_URL={closed}");
    let started = Instant::now();
    let check = healthscore_with(
        &[
            "check",
            "--pipeline",
            pipeline,
            "--input",
            "s3://exports/in",
            "--as-of",
            D1,
            "--input-option",
            &wrong,
            "--input-option",
            "max_retries=2",
            "--input-option",
            "retry_timeout=20s",
        ],
        &env,
    );
    ok_code(&check, 1);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "retries are bounded"
    );
    assert!(
        check
            .stderr
            .contains("storage error during list of s3://exports/in/accounts"),
        "{}",
        check.stderr
    );
    assert!(check.stderr.contains("after 2 retries"), "{}", check.stderr);
    // An unknown option is a usage error (exit 64) naming it.
    let bad = healthscore_with(
        &[
            "check",
            "--pipeline",
            pipeline,
            "--input",
            "s3://exports/in",
            "--input-option",
            "aws_no_such_option=1",
        ],
        &env,
    );
    ok_code(&bad, 64);
    assert!(bad.stderr.contains("aws_no_such_option"), "{}", bad.stderr);
}

const KEY_ID: &str = "AKIAHEALTHSCORELEAK1";
const SECRET: &str = "hs/LeakTest+Secret/0123456789abcdefXYZ";
const TOKEN: &str = "FwoGZXIvYXdzEHealthscoreSessionTokenLeakTest";

fn assert_no_secret(o: &common::Out, what: &str) {
    for s in [KEY_ID, SECRET, TOKEN] {
        for (stream, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
            assert!(
                !text.contains(s),
                "{what}: {stream} shows a secret:\n{text}"
            );
            let encoded: String = url_encode(s);
            assert!(
                !text.contains(&encoded),
                "{what}: {stream} shows an encoded secret:\n{text}"
            );
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn failing_s3_runs_print_no_secret() {
    // moto checking credentials: the key id is unknown, every request is
    // refused (403).
    let strict = moto_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let pipeline = common::repo().join("pipelines/default.toml");
    let pipeline = pipeline.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local_in = tmp.path().join("in");
    generate("20", D1, local_in.to_str().unwrap(), &[]);
    for endpoint in [strict.endpoint(), closed] {
        let env: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), endpoint.clone()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
            ("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into()),
            ("AWS_SESSION_TOKEN".into(), TOKEN.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("HEALTHSCORE_LOG".into(), "debug".into()),
        ];
        let fast = ["--output-option", "max_retries=1"];
        let cases: Vec<(&str, Vec<&str>)> = vec![
            (
                "run to the bucket",
                vec![
                    "run",
                    "--pipeline",
                    pipeline,
                    "--input",
                    local_in.to_str().unwrap(),
                    "--output",
                    "s3://snapshots/hs",
                    "--as-of",
                    D1,
                    fast[0],
                    fast[1],
                ],
            ),
            (
                "run from the bucket",
                vec![
                    "run",
                    "--pipeline",
                    pipeline,
                    "--input",
                    "s3://exports/in",
                    "--output",
                    "s3://snapshots/hs",
                    "--as-of",
                    D1,
                    "--input-option",
                    "max_retries=1",
                ],
            ),
            (
                "explain",
                vec![
                    "explain",
                    "--output",
                    "s3://snapshots/hs",
                    "--customer",
                    "C1",
                    fast[0],
                    fast[1],
                ],
            ),
            (
                "generate",
                vec![
                    "generate",
                    "--accounts",
                    "5",
                    "--out",
                    "s3://exports/in",
                    fast[0],
                    fast[1],
                ],
            ),
        ];
        for (what, args) in cases {
            for format in ["text", "json"] {
                let mut a = vec!["--format", format];
                a.extend(args.iter().copied());
                let o = healthscore_with(&a, &env);
                let what = format!("{what} ({format}) against {endpoint}");
                ok_code(&o, 1);
                assert!(
                    o.stderr.contains("s3://"),
                    "{what}: names the object: {}",
                    o.stderr
                );
                assert_no_secret(&o, &what);
                if format == "json" {
                    let j: serde_json::Value =
                        serde_json::from_str(o.stdout.trim()).expect("one JSON object");
                    assert_eq!(j["error"]["kind"], "storage", "{what}");
                    assert_eq!(j["error"]["retryable"], true, "{what}");
                }
            }
        }
    }
}

#[test]
fn sigterm_during_a_multipart_upload_aborts_it_and_commits_nothing() {
    let moto = moto_with_env(&[("S3_UPLOAD_PART_MIN_SIZE", "1024")]);
    create_bucket(&moto, "snapshots");
    let tmp = tempfile::tempdir().unwrap();
    let local_in = tmp.path().join("in");
    generate("20000", D1, local_in.to_str().unwrap(), &[]);
    let pipeline = common::repo().join("pipelines/default.toml");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_healthscore"));
    cmd.args([
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--input",
        local_in.to_str().unwrap(),
        "--output",
        "s3://snapshots/hs",
        "--as-of",
        D1,
        // Many small parts: the upload lasts long enough to be interrupted.
        "--output-option",
        "multipart_threshold=1",
        "--output-option",
        "multipart_part_size=4KiB",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("HEALTHSCORE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in s3_env(&moto) {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start healthscore");
    // Wait until parts are being uploaded, then SIGTERM.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !moto.log().contains("partNumber=3") {
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let o = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Nothing committed, no lease left, and no upload left open.
    let out = healthscore::storage::Store::open("s3://snapshots/hs", &s3_options(&moto)).unwrap();
    let names: Vec<String> = out.list("").unwrap().into_iter().map(|o| o.rel).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("_SUCCESS") || n == "_LOCK"),
        "{names:?}"
    );
    let (status, uploads) = http(moto.port, "GET", "/snapshots?uploads", &[], b"").unwrap();
    assert_eq!(status, 200, "{uploads}");
    assert!(
        !uploads.contains("<UploadId>"),
        "the interrupted multipart upload was aborted: {uploads}"
    );
    // An abort is a DELETE of the upload (`?uploadId=`): the lease's own
    // DELETE of `_LOCK` does not count.
    let log = moto.log();
    assert!(
        log.lines()
            .any(|l| l.contains("DELETE /snapshots/hs/") && l.contains("uploadId=")),
        "an abort (DELETE …?uploadId=) was sent:\n{log}"
    );
}
