//! What the numbers were measured on: CPU, memory, kernel, Eddy's commit and the Python
//! interpreter Eddy runs Python functions with.

use std::process::Command;

pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub mem_total: String,
    pub kernel: String,
    /// 1, 5 and 15 minute load averages when the run started: other work on the
    /// machine shows up here and in every number after it.
    pub load: String,
    pub commit: Option<String>,
    pub python: Option<String>,
}

impl Machine {
    /// `python` is the interpreter the benchmark hands Eddy, if any.
    pub fn probe(python: Option<&str>) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, v)| v.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_total = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or_else(
                || "unknown".to_string(),
                |kib| format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string());
        let load = std::fs::read_to_string("/proc/loadavg").map_or_else(
            |_| "unknown".to_string(),
            |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        );
        Self {
            load,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            model,
            mem_total,
            kernel,
            commit: commit(),
            python: output(python.unwrap_or("python3"), &["--version"]),
        }
    }
}

/// The checked-out commit, flagged when the tree has changes on top of it, since then
/// the binary measured is not exactly that commit.
fn commit() -> Option<String> {
    let head = output("git", &["rev-parse", "--short", "HEAD"])?;
    let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
    Some(if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    })
}

/// The interpreter behind `python3` on the PATH. Version managers put a shell-script
/// shim first on the PATH (pyenv's costs about 100 ms per start on a small machine);
/// handing Eddy the real binary keeps that out of the Python cold-start numbers.
pub fn real_python() -> Option<String> {
    output("python3", &["-c", "import sys; print(sys.executable)"])
}

/// The trimmed stdout of a command that succeeded, or `None`.
fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}
