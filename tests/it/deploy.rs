//! The production set-up: the deploy examples only use flags the binary
//! has, the Dockerfile keeps its promises (multi-stage, CA certificates,
//! non-root user, the binary as entrypoint), and the binary runs as a
//! non-root user from a read-only working directory (what the image and
//! the CronJob's read-only root filesystem impose), since no container
//! engine runs here to build the image itself.

use crate::common;
use common::*;

use std::path::Path;
use std::process::Command;

fn help(command: &str) -> String {
    let o = healthscore(&[command, "--help"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout
}

/// `--flag` of `--flag=value`.
fn flag_of(arg: &str) -> Option<&str> {
    arg.starts_with("--")
        .then(|| arg.split('=').next().unwrap())
}

#[test]
fn the_cronjobs_use_flags_the_binary_has() {
    let yaml = std::fs::read_to_string(repo().join("deploy/cronjob.yaml")).unwrap();
    let mut commands = Vec::new();
    for doc in yaml.split("\n---\n") {
        // The container's args: the `- …` items after `args:`.
        let Some(start) = doc.find("args:\n") else {
            continue;
        };
        let items: Vec<&str> = doc[start + 6..]
            .lines()
            .map_while(|l| l.trim_start().strip_prefix("- "))
            .collect();
        let (command, args) = items.split_first().expect("args");
        let text = help(command);
        for a in args {
            let flag = flag_of(a).unwrap_or_else(|| panic!("{command}: {a} is not a flag"));
            assert!(
                text.contains(&format!("{flag} ")) || text.contains(&format!("{flag}\n")),
                "{command} has no {flag}:\n{text}"
            );
        }
        assert!(args.iter().any(|a| a.starts_with("--run-id=")), "{command}");
        assert!(args.contains(&"--format=json"), "{command}");
        commands.push(command.to_string());
    }
    assert_eq!(commands, ["run", "prune"]);
    assert!(
        yaml.contains("values: [2, 64]"),
        "no retry on exit 2 and 64"
    );
}

#[test]
fn the_airflow_dag_uses_flags_the_binary_has() {
    let dag = std::fs::read_to_string(repo().join("deploy/airflow_dag.py")).unwrap();
    let run = help("run");
    let prune = help("prune");
    let flags: Vec<&str> = dag
        .split('"')
        .filter(|s| s.starts_with("--") && !s.contains(' '))
        .collect();
    assert!(flags.contains(&"--run-id") && flags.contains(&"--format"));
    for flag in flags {
        assert!(
            run.contains(&format!("{flag} ")) || prune.contains(&format!("{flag} ")),
            "no command has {flag}"
        );
    }
    for code in ["(2, 64)", "AirflowFailException", "json.loads"] {
        assert!(dag.contains(code), "{code}");
    }
}

#[test]
fn the_dockerfile_is_multi_stage_non_root_with_ca_certificates() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].starts_with("FROM rust:") && froms[0].ends_with(" AS builder"));
    assert!(froms[1].contains("debian:bookworm-slim"));
    assert!(text.contains("ca-certificates"));
    assert!(text.contains("cargo build --release --locked"));
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric uid");
    assert!(uid != 0, "runs as root");
    assert!(lines.contains(&r#"ENTRYPOINT ["/usr/local/bin/healthscore"]"#));
    assert!(text.contains(
        "COPY --from=builder /src/target/release/healthscore /usr/local/bin/healthscore"
    ));
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l == "target"),
        "the build context skips target/"
    );
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[test]
fn runs_as_a_non_root_user_from_a_read_only_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    chmod(root, 0o755);
    std::fs::write(root.join("p.toml"), pct_pipeline("1")).unwrap();
    write_pct_accounts(&root.join("in"), &[("a", Some(20.0)), ("b", Some(80.0))]);
    for d in ["in", "in/accounts"] {
        chmod(&root.join(d), 0o755);
    }
    chmod(&root.join("in/accounts/part-0.parquet"), 0o644);
    chmod(&root.join("p.toml"), 0o644);
    // Writable only where the job is told to write.
    for d in ["out", "metrics"] {
        std::fs::create_dir(root.join(d)).unwrap();
        chmod(&root.join(d), 0o777);
    }
    let cwd = root.join("ro");
    std::fs::create_dir(&cwd).unwrap();
    chmod(&cwd, 0o555);

    let bin = env!("CARGO_BIN_EXE_healthscore");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut cmd = if is_root {
        // As `nobody`, the way the image's USER line runs it.
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    };
    let args = |c: &mut Command, sub: &[&str]| {
        c.args(sub)
            .current_dir(&cwd)
            .env("HOME", &cwd)
            .env_remove("HEALTHSCORE_AS_OF");
    };
    let p = root.join("p.toml");
    let (i, o, m) = (
        root.join("in"),
        root.join("out"),
        root.join("metrics/hs.prom"),
    );
    args(
        &mut cmd,
        &[
            "run",
            "--pipeline",
            p.to_str().unwrap(),
            "--input",
            i.to_str().unwrap(),
            "--output",
            o.to_str().unwrap(),
            "--as-of",
            D,
            "--format",
            "json",
            "--metrics-file",
            m.to_str().unwrap(),
        ],
    );
    // setpriv (util-linux) is on every Debian-based machine; without it
    // the test fails rather than passing without running as non-root.
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} (as root, through setpriv): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let j: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(j["status"], "ok");
    assert!(root
        .join(format!("out/scores/snapshot_date={D}/_SUCCESS"))
        .exists());
    assert!(m.exists(), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&cwd).unwrap().count(),
        0,
        "nothing written to the working directory"
    );
    if is_root {
        use std::os::unix::fs::MetadataExt;
        let meta =
            std::fs::metadata(root.join(format!("out/scores/snapshot_date={D}/_SUCCESS"))).unwrap();
        assert_eq!(meta.uid(), 65534, "written by the non-root user");
    }
}
