//! A real Spark Connect server on 127.0.0.1 for the Spark engine's tests:
//! `sbin/start-connect-server.sh` of the test venv's pyspark (installed by
//! `make test`), `local[2]`, its UI off, logs and pid files in a temporary
//! folder, run in the foreground in its own process group so dropping it
//! stops the JVM too. Needs Java 17 (`java` on PATH); a missing pyspark
//! or Java fails the test naming it, never a skip.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A Spark Connect server; killed (its whole process group) when dropped.
pub struct SparkServer {
    child: Child,
    /// Its gRPC port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SparkServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl SparkServer {
    /// `sc://127.0.0.1:PORT`.
    pub fn remote(&self) -> String {
        format!("sc://127.0.0.1:{}", self.port)
    }

    /// Kills the server and its JVM (a cluster lost mid-run).
    pub fn kill(&mut self) {
        let group = self.child.id() as i32;
        // SAFETY: kill(2) on the server's own process group.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// The server's logs, for failure messages.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("logs")) {
            for e in entries.flatten() {
                text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        text.push_str(
            &std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default(),
        );
        let tail: Vec<&str> = text.lines().rev().take(60).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

/// The pyspark package folder of the test venv (SPARK_HOME).
fn spark_home() -> PathBuf {
    let py = crate::common::python();
    let o = Command::new(&py)
        .args([
            "-c",
            "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
        ])
        .output()
        .expect("run the test venv's python");
    assert!(
        o.status.success(),
        "pyspark is not installed in {} ({}). Run `make test`: it installs pyspark 4.3.0 from tests/requirements.txt",
        py.display(),
        String::from_utf8_lossy(&o.stderr).trim()
    );
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

/// Starts a Spark Connect server and returns once its port accepts
/// connections.
pub fn spark_connect() -> SparkServer {
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.as_ref().is_ok_and(|o| o.status.success()),
        "`java` not found: the Spark engine's tests start a Spark Connect server, which needs Java 17 (install openjdk-17-jre-headless)"
    );
    let home = spark_home();
    let dir = tempfile::tempdir().expect("spark dir");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let confs = [
        format!("spark.connect.grpc.binding.port={port}"),
        "spark.connect.grpc.binding.address=127.0.0.1".into(),
        "spark.driver.host=127.0.0.1".into(),
        "spark.driver.bindAddress=127.0.0.1".into(),
        "spark.ui.enabled=false".into(),
        "spark.sql.shuffle.partitions=4".into(),
        format!("spark.local.dir={}", dir.path().join("tmp").display()),
        format!(
            "spark.sql.warehouse.dir={}",
            dir.path().join("warehouse").display()
        ),
    ];
    let mut cmd = Command::new(home.join("sbin/start-connect-server.sh"));
    cmd.arg("--master").arg("local[2]");
    for c in &confs {
        cmd.arg("--conf").arg(c);
    }
    cmd.env("SPARK_HOME", &home)
        .env("SPARK_NO_DAEMONIZE", "1")
        .env("SPARK_LOG_DIR", dir.path().join("logs"))
        .env("SPARK_PID_DIR", dir.path())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .process_group(0);
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start the Spark Connect server of {}: {e}",
            home.display()
        )
    });
    let mut server = SparkServer { child, port, dir };
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "the Spark Connect server exited ({status}):\n{}",
                server.log()
            );
        }
        if started.elapsed() > Duration::from_secs(180) {
            let log = server.log();
            server.kill();
            panic!("the Spark Connect server did not listen on {port} within 180 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
