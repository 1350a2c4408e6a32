//! Resource limits for execution environments through Linux control groups, v1 or v2,
//! whichever the host offers. Freezing is not done here but with SIGSTOP: a process frozen
//! by the cgroup freezer cannot act on its parent-death SIGKILL, so a crashed server would
//! leave frozen environments behind; a stopped process still dies. Each environment gets its own group under a parent named for
//! this server's data dir, so a restarted server can find and kill what a crashed one left.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Which cgroup layout is usable.
#[derive(Debug, Clone)]
pub enum Layout {
    /// v1: one folder per controller.
    V1 {
        memory: PathBuf,
        pids: Option<PathBuf>,
    },
    /// v2: one unified folder.
    V2 { root: PathBuf },
    /// Neither is writable: limits fall back to rlimits.
    None,
}

/// The cgroup side of the runtime: where environment groups go.
#[derive(Debug, Clone)]
pub struct Cgroups {
    layout: Layout,
}

/// One environment's group(s).
#[derive(Debug, Clone)]
pub struct EnvGroup {
    /// The files a new process writes its pid into to join.
    pub procs_files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    memory_dir: PathBuf,
    v2: bool,
    /// The peak-usage file, opened on first use and re-read in place after that: reading
    /// it once per invocation by name costs a path walk through the cgroup filesystem.
    peak: Arc<OnceLock<Option<fs::File>>>,
}

fn writable_dir(p: &Path) -> bool {
    fs::create_dir_all(p).is_ok()
}

impl Cgroups {
    /// Detects the host's layout and prepares a parent group called `name`, killing any
    /// environment a previous server on the same data dir left behind.
    pub fn detect(name: &str) -> Self {
        let base = Path::new("/sys/fs/cgroup");
        let v1_mem = base.join("memory");
        let layout = if v1_mem.join("memory.limit_in_bytes").exists() {
            let memory = v1_mem.join(name);
            if writable_dir(&memory) {
                let pids = Some(base.join("pids").join(name)).filter(|p| writable_dir(p));
                Layout::V1 { memory, pids }
            } else {
                Layout::None
            }
        } else if base.join("cgroup.controllers").exists() {
            let root = base.join(name);
            let ok = writable_dir(&root) && {
                // Controllers must be delegated to the parent's children before use.
                let _ = fs::write(base.join("cgroup.subtree_control"), "+memory +pids");
                let _ = fs::write(root.join("cgroup.subtree_control"), "+memory +pids");
                fs::read_to_string(root.join("cgroup.subtree_control"))
                    .map(|s| s.contains("memory"))
                    .unwrap_or(false)
            };
            if ok {
                Layout::V2 { root }
            } else {
                Layout::None
            }
        } else {
            Layout::None
        };
        let me = Self { layout };
        me.kill_leftovers();
        me
    }

    pub fn disabled() -> Self {
        Self {
            layout: Layout::None,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self.layout {
            Layout::V1 { .. } => "cgroup v1",
            Layout::V2 { .. } => "cgroup v2",
            Layout::None => "rlimits only (no writable cgroup)",
        }
    }

    pub fn enabled(&self) -> bool {
        !matches!(self.layout, Layout::None)
    }

    fn parents(&self) -> Vec<PathBuf> {
        match &self.layout {
            Layout::V1 { memory, pids } => std::iter::once(memory.clone())
                .chain(pids.clone())
                .collect(),
            Layout::V2 { root } => vec![root.clone()],
            Layout::None => vec![],
        }
    }

    fn kill_leftovers(&self) {
        for parent in self.parents() {
            let Ok(rd) = fs::read_dir(&parent) else {
                continue;
            };
            for e in rd.flatten() {
                if e.path().is_dir() {
                    kill_group(&e.path());
                    thaw(&e.path());
                    let _ = fs::remove_dir(e.path());
                }
            }
        }
    }

    /// Creates the group for one environment with its limits.
    pub fn create(&self, env_id: &str, memory_bytes: u64, pids_max: u32) -> Option<EnvGroup> {
        match &self.layout {
            Layout::V1 { memory, pids } => {
                let mem = memory.join(env_id);
                fs::create_dir_all(&mem).ok()?;
                fs::write(mem.join("memory.limit_in_bytes"), memory_bytes.to_string()).ok()?;
                // Swap would let a function exceed its size silently.
                let _ = fs::write(
                    mem.join("memory.memsw.limit_in_bytes"),
                    memory_bytes.to_string(),
                );
                let mut dirs = vec![mem.clone()];
                if let Some(p) = pids {
                    let d = p.join(env_id);
                    if fs::create_dir_all(&d).is_ok() {
                        let _ = fs::write(d.join("pids.max"), pids_max.to_string());
                        dirs.push(d);
                    }
                }
                Some(EnvGroup {
                    procs_files: dirs.iter().map(|d| d.join("cgroup.procs")).collect(),
                    dirs,
                    memory_dir: mem,
                    v2: false,
                    peak: Arc::default(),
                })
            }
            Layout::V2 { root } => {
                let d = root.join(env_id);
                fs::create_dir_all(&d).ok()?;
                fs::write(d.join("memory.max"), memory_bytes.to_string()).ok()?;
                let _ = fs::write(d.join("memory.swap.max"), "0");
                let _ = fs::write(d.join("pids.max"), pids_max.to_string());
                Some(EnvGroup {
                    procs_files: vec![d.join("cgroup.procs")],
                    dirs: vec![d.clone()],
                    memory_dir: d,
                    v2: true,
                    peak: Arc::default(),
                })
            }
            Layout::None => None,
        }
    }
}

fn kill_group(dir: &Path) {
    if let Ok(s) = fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in s.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn thaw(dir: &Path) {
    let _ = fs::write(dir.join("freezer.state"), "THAWED");
    let _ = fs::write(dir.join("cgroup.freeze"), "0");
}

impl EnvGroup {
    /// Peak memory use in bytes, when the controller reports it.
    pub fn peak_bytes(&self) -> Option<u64> {
        let file = if self.v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        let f = self
            .peak
            .get_or_init(|| fs::File::open(self.memory_dir.join(file)).ok())
            .as_ref()?;
        // Reading from offset 0 makes the kernel render the value afresh.
        let mut buf = [0u8; 32];
        let n = std::os::unix::fs::FileExt::read_at(f, &mut buf, 0).ok()?;
        std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
    }

    /// Whether the kernel killed a process of this group for running out of memory.
    pub fn oom_killed(&self) -> bool {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        fs::read_to_string(self.memory_dir.join(file))
            .map(|s| {
                s.lines().any(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
                })
            })
            .unwrap_or(false)
    }

    /// Kills every process left in the group and removes it.
    pub fn destroy(&self) {
        for d in &self.dirs {
            kill_group(d);
        }
        for d in &self.dirs {
            // The kernel refuses while a killed process is still exiting; retry briefly.
            for _ in 0..50 {
                if fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
}
