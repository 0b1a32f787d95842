//! Running `gatehouse serve` as a child process, for the tests that need
//! the real binary (CLI, many nodes, crash recovery).
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// A `gatehouse serve` child process, killed if the test fails.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn serve(dir: &Path, extra_args: &[&str], extra_env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra_args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("GATEHOUSE_LOG", "info")
        // The tests log in many times from 127.0.0.1; a test of the limits
        // turns them back on through `extra_env`.
        .env("GATEHOUSE_RATE_LIMITS__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // Wait for the one "listening" line, bounded in time.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("server did not report listening within 30 s");
        if line.contains("gatehouse is listening") {
            assert!(line.contains(&format!("listen=127.0.0.1:{port}")), "{line}");
            assert!(line.contains("issuer="), "{line}");
            break;
        }
    }
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// The claims of a JWT, decoded without verification (for assertions only).
pub fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `gatehouse ARGS` in `dir` (where `gatehouse.db` lives) with `env` set.
/// The caller's `RUST_LOG`, database URL and secret files do not reach it:
/// only what the test sets does.
fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env("GATEHOUSE_SECRETS_DIR", dir.join("no-secrets"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `gatehouse ARGS` in `dir` with `env` set and `stdin` piped in.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = command(dir, args, env)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `gatehouse ARGS` in `dir` with its stdout a pipe whose reader is
/// gone (`gatehouse ... | head` once `head` has had enough): the read end
/// is closed as soon as the process starts, so its writes fail with EPIPE
/// (once the pipe's buffer is full, if it wrote before the close).
pub fn run_with_stdout_closed(dir: &Path, args: &[&str]) -> Output {
    let mut child = command(dir, args, &[])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}
