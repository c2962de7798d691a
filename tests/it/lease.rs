//! SPEC §6 the lease: what `_LOCK` holds, that a held lease refuses a
//! second run and an expired one is taken over, and that of runs racing
//! for it exactly one wins — on a local folder, on S3 (moto) and on Azure
//! (Azurite), whose conditional puts are what makes it safe.

use std::sync::{Arc, Barrier};

use healthscore::error::Error;
use healthscore::output::lease::Lease;
use healthscore::storage::Store;

use crate::servers::*;

/// The lease's JSON, read back from the store.
fn lock_body(store: &Store) -> serde_json::Value {
    let bytes = store.get("_LOCK").expect("a _LOCK object");
    serde_json::from_slice(&bytes).expect("the lease is JSON")
}

#[test]
fn the_lease_holds_the_run_id_the_host_and_an_expiry_two_hours_ahead() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().to_str().unwrap(), &[]).unwrap();
    let before = chrono::Utc::now();
    let lease = Lease::acquire(&store, "run-a").unwrap();
    let after = chrono::Utc::now();
    let body = lock_body(&store);
    assert_eq!(body["run_id"], "run-a");
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    assert_eq!(body["host"], host.as_str());
    let expires: chrono::DateTime<chrono::Utc> = body["expires"].as_str().unwrap().parse().unwrap();
    assert!(
        expires >= before + chrono::Duration::minutes(120),
        "{expires}"
    );
    assert!(
        expires <= after + chrono::Duration::minutes(120),
        "{expires}"
    );

    // Held: another run id is refused, naming the holder.
    match Lease::acquire(&store, "run-b") {
        Err(Error::Locked { holder, .. }) => assert_eq!(holder, "run-a"),
        Err(e) => panic!("expected locked, got {e}"),
        Ok(_) => panic!("a held lease was taken twice"),
    }
    lease.release().unwrap();
    assert!(!tmp.path().join("_LOCK").exists(), "released");

    // Expired: taken over.
    let stale =
        serde_json::json!({"run_id": "dead", "host": "h", "expires": "2000-01-01T00:00:00Z"});
    std::fs::write(tmp.path().join("_LOCK"), stale.to_string()).unwrap();
    let lease = Lease::acquire(&store, "run-c").unwrap();
    assert_eq!(lock_body(&store)["run_id"], "run-c");
    lease.release().unwrap();
}

/// `n` threads race for the lease of `url` at the same instant; returns
/// how many won and the run ids of those refused as locked.
fn race(url: &str, options: &[(String, String)], n: usize) -> (usize, usize) {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let url = url.to_string();
            let options = options.to_vec();
            std::thread::spawn(move || {
                let store = Store::open(&url, &options).unwrap();
                barrier.wait();
                match Lease::acquire(&store, &format!("racer-{i}")) {
                    Ok(lease) => Ok(lease),
                    Err(e) => Err(e),
                }
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won = results.iter().filter(|r| r.is_ok()).count();
    let locked = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Locked { .. })))
        .count();
    (won, locked)
}

#[test]
fn of_runs_racing_for_a_local_lease_exactly_one_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let (won, locked) = race(tmp.path().to_str().unwrap(), &[], 6);
    assert_eq!((won, locked), (1, 5));
}

#[test]
fn of_runs_racing_for_the_lease_on_moto_exactly_one_wins() {
    let server = moto();
    create_bucket(&server, "race");
    let (won, locked) = race("s3://race/out", &s3_options(&server), 6);
    assert_eq!((won, locked), (1, 5), "moto log:\n{}", server.log());
}

#[test]
fn of_runs_racing_for_the_lease_on_azurite_exactly_one_wins() {
    let server = azurite();
    create_container(&server, "race");
    let (won, locked) = race("az://race/out", &azurite_options(&server), 6);
    assert_eq!((won, locked), (1, 5), "azurite log:\n{}", server.log());
}

/// Starts `run` of the default pipeline on `input` into `out`.
fn spawn_run(input: &std::path::Path, out: &std::path::Path) -> std::process::Child {
    let pipeline = crate::common::repo().join("pipelines/default.toml");
    std::process::Command::new(env!("CARGO_BIN_EXE_healthscore"))
        .args(["run", "--pipeline"])
        .arg(&pipeline)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .args(["--as-of", D1])
        .env_remove("HEALTHSCORE_AS_OF")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start healthscore")
}

#[test]
fn sigint_while_the_lease_is_held_commits_nothing_and_releases_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    generate("20000", D1, input.to_str().unwrap(), &[]);
    // SIGINT once the lease is taken (inputs read, scoring or writing under
    // way). A run can finish between the lease showing and the signal: then
    // it is run again, up to five times — never counted as a pass.
    for attempt in 1..=5 {
        let out = tmp.path().join(format!("out-{attempt}"));
        let child = spawn_run(&input, &out);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !out.join("_LOCK").exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the lease was never taken"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let sent = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let o = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&o.stderr);
        if o.status.code() == Some(0) {
            continue;
        }
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(!out.join("_LOCK").exists(), "the lease is released");
        let committed = out.join(format!("scores/snapshot_date={D1}/_SUCCESS"));
        assert!(!committed.exists(), "nothing is committed");
        return;
    }
    panic!("five runs finished before the signal reached them");
}
