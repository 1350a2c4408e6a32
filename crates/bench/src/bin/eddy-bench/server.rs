//! Starting, probing and stopping `eddy server` processes, with blocking std calls: the
//! start-up measurement must not include an async runtime's scheduling.

use anyhow::{anyhow, bail, Context};
use bench::http1;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `eddy server` on a fresh data dir. Dropping it stops the server and
/// removes the directory, so an early error return never leaves one behind.
pub struct Eddy {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// Spawn to first `200` from `/_eddy/health`.
    pub startup: Duration,
    dir: Option<tempfile::TempDir>,
}

/// How long a server gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a server gets to become healthy.
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Eddy {
    /// Spawns the server (with `env` added to its environment) and waits until it
    /// answers `/_eddy/health` with 200, probing every millisecond.
    pub fn start(binary: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("eddy-bench-").tempdir()?;
        let data = dir.path().join("data");
        // The server log goes to a file: a pipe nobody drains would stall the server
        // once full, and the file is there to read when something fails.
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut cmd = Command::new(binary);
        // If the benchmark is interrupted (Ctrl-C skips destructors), the server still
        // gets SIGTERM and shuts down its environments instead of living on.
        // SAFETY: runs between fork and exec and only calls prctl, which is
        // async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let t0 = Instant::now();
        let child = cmd
            .arg("server")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut eddy = Self {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            startup: Duration::ZERO,
            dir: Some(dir),
        };
        let stdout = eddy
            .child
            .as_mut()
            .and_then(|c| c.stdout.take())
            .ok_or_else(|| anyhow!("no stdout"))?;
        // A thread reads stdout so a server that hangs before printing its address
        // times out instead of blocking the benchmark; it then keeps draining, so the
        // server never blocks writing to a full pipe.
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let _ = addr_tx.send(read_listen_line(&mut stdout));
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        eddy.addr = match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => return Err(eddy.failure(e)),
            Err(_) => {
                return Err(eddy.failure(anyhow!("no listening line after {START_TIMEOUT:?}")))
            }
        };
        loop {
            if health(eddy.addr).unwrap_or(false) {
                break;
            }
            if t0.elapsed() > START_TIMEOUT {
                return Err(eddy.failure(anyhow!("not healthy after {START_TIMEOUT:?}")));
            }
            if let Some(Ok(Some(status))) = eddy.child.as_mut().map(Child::try_wait) {
                return Err(eddy.failure(anyhow!("exited during start-up: {status}")));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        eddy.startup = t0.elapsed();
        Ok(eddy)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The server's resident set size in KiB (its own process only, not the
    /// environments it started).
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| anyhow!("no VmRSS in /proc/{}/status", self.pid()))
    }

    /// The body of `/_eddy/health`, which counts the live environments.
    pub fn health_body(&self) -> anyhow::Result<String> {
        let resp = get(self.addr, "/_eddy/health")?;
        Ok(String::from_utf8_lossy(&resp.body).into_owned())
    }

    /// Stops the server: SIGTERM, then SIGKILL after a grace period. Returns how long
    /// the server took to exit.
    pub fn stop(mut self) -> anyhow::Result<Duration> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> anyhow::Result<Duration> {
        let Some(mut child) = self.child.take() else {
            return Ok(Duration::ZERO);
        };
        let t0 = Instant::now();
        if child.try_wait()?.is_none() {
            let pid = libc::pid_t::try_from(child.id())?;
            // SAFETY: kill has no memory-safety preconditions; the pid is our own child,
            // not yet reaped, so it cannot have been reused by another process.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            loop {
                if child.try_wait()?.is_some() {
                    break;
                }
                if t0.elapsed() > STOP_GRACE {
                    eprintln!("eddy pid {pid} ignored SIGTERM for {STOP_GRACE:?}; killing it");
                    child.kill()?;
                    child.wait()?;
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let took = t0.elapsed();
        if let Some(dir) = self.dir.take() {
            dir.close()?;
        }
        Ok(took)
    }

    /// Wraps a start-up error with the end of the server log, then stops the server.
    fn failure(&mut self, e: anyhow::Error) -> anyhow::Error {
        let log = self
            .dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.path().join("server.log")).ok())
            .unwrap_or_default();
        let _ = self.stop_inner();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let tail = if tail.is_empty() {
            "(empty)".to_string()
        } else {
            tail.join("\n")
        };
        anyhow!("{e:#}\nend of the server log:\n{tail}")
    }
}

impl Drop for Eddy {
    fn drop(&mut self) {
        if let Err(e) = self.stop_inner() {
            eprintln!("stopping eddy: {e:#}");
        }
    }
}

/// Reads stdout until the `listening on http://HOST:PORT` line.
fn read_listen_line<R: Read>(stdout: &mut BufReader<R>) -> anyhow::Result<SocketAddr> {
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            bail!("stdout closed before the listening line");
        }
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            return addr
                .parse()
                .with_context(|| format!("parsing the address in {line:?}"));
        }
    }
}

/// One `GET` on a fresh connection.
fn get(addr: SocketAddr, path: &str) -> anyhow::Result<http1::Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    Ok(http1::read_response(&mut BufReader::new(stream))?)
}

/// Whether `/_eddy/health` answers 200; connection errors count as not yet.
fn health(addr: SocketAddr) -> anyhow::Result<bool> {
    Ok(get(addr, "/_eddy/health")?.status == 200)
}
