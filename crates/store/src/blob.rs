//! Blobs (code packages, later object data) as files under one directory.

use crate::Result;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Content-addressed or named blobs.
pub trait BlobStore: Send + Sync {
    /// Stores `data` under `key` durably; an existing blob is replaced atomically.
    fn put(&self, key: &str, data: &[u8]) -> Result<()>;
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    fn exists(&self, key: &str) -> bool;
    fn delete(&self, key: &str) -> Result<()>;
    /// Starts a blob written piece by piece; it becomes visible under a key only when
    /// committed, and is discarded if dropped first.
    fn writer(&self) -> Result<Box<dyn BlobWrite>>;
    /// Opens a blob for reading; an open blob stays readable after it is replaced or
    /// deleted.
    fn open(&self, key: &str) -> Result<Option<std::fs::File>>;
}

/// A blob being written.
pub trait BlobWrite: Send {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()>;
    /// Bytes written so far.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Makes the blob durable and visible under `key`.
    fn commit(self: Box<Self>, key: &str) -> std::io::Result<()>;
}

struct FsBlobWriter {
    file: Option<File>,
    tmp: PathBuf,
    root: PathBuf,
    len: u64,
}

impl BlobWrite for FsBlobWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => {
                f.write_all(data)?;
                self.len += data.len() as u64;
                Ok(())
            }
            None => Err(std::io::Error::other("blob already committed")),
        }
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn commit(mut self: Box<Self>, key: &str) -> std::io::Result<()> {
        let f = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("blob already committed"))?;
        f.sync_all()?;
        drop(f);
        let dest = self.root.join(key);
        let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent)?;
        fs::rename(&self.tmp, &dest)?;
        sync_dir(&parent)
    }
}

impl Drop for FsBlobWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Blobs as files; keys may contain `/` to form folders.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join(".tmp"))?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> PathBuf {
        debug_assert!(!key.contains(".."), "blob keys are chosen by the server");
        self.root.join(key)
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl BlobStore for FsBlobStore {
    fn put(&self, key: &str, data: &[u8]) -> Result<()> {
        let dest = self.path(key);
        let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent)?;
        // Written aside, synced, then renamed: a reader sees the old blob or the new one,
        // and a crash leaves at most a stray temp file.
        let tmp = self
            .root
            .join(".tmp")
            .join(format!("{}-{}", std::process::id(), unique()));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &dest)?;
        sync_dir(&parent)?;
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match fs::read(self.path(key)) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn exists(&self, key: &str) -> bool {
        self.path(key).exists()
    }

    fn delete(&self, key: &str) -> Result<()> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn writer(&self) -> Result<Box<dyn BlobWrite>> {
        let tmp = self
            .root
            .join(".tmp")
            .join(format!("{}-{}", std::process::id(), unique()));
        let file = File::create(&tmp)?;
        Ok(Box::new(FsBlobWriter {
            file: Some(file),
            tmp,
            root: self.root.clone(),
            len: 0,
        }))
    }

    fn open(&self, key: &str) -> Result<Option<File>> {
        match File::open(self.path(key)) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl FsBlobStore {
    /// Deletes temp files (uploads cut off by a crash) and blobs under `prefix` that no
    /// record names and that are older than `min_age`, so an upload in flight is spared.
    pub fn sweep(
        &self,
        prefix: &str,
        referenced: &std::collections::HashSet<String>,
        min_age: std::time::Duration,
    ) -> std::io::Result<u64> {
        let mut removed = 0;
        let now = std::time::SystemTime::now();
        let old_enough = |p: &Path| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .map(|t| now.duration_since(t).unwrap_or_default() >= min_age)
                .unwrap_or(false)
        };
        if let Ok(rd) = fs::read_dir(self.root.join(".tmp")) {
            for e in rd.flatten() {
                if old_enough(&e.path()) && fs::remove_file(e.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        let mut stack = vec![self.root.join(prefix)];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(rel) = p.strip_prefix(&self.root) else {
                    continue;
                };
                let key = rel.to_string_lossy().into_owned();
                if !referenced.contains(&key) && old_enough(&p) && fs::remove_file(&p).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_replace_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(b.get("code/a").unwrap(), None);
        b.put("code/a", b"one").unwrap();
        b.put("code/a", b"two").unwrap();
        assert_eq!(b.get("code/a").unwrap().unwrap(), b"two");
        assert!(b.exists("code/a"));
        b.delete("code/a").unwrap();
        assert!(!b.exists("code/a"));
    }

    #[test]
    fn writers_commit_atomically_and_sweep_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let b = FsBlobStore::open(dir.path()).unwrap();
        let mut w = b.writer().unwrap();
        w.write(b"par").unwrap();
        w.write(b"ts").unwrap();
        assert_eq!(w.len(), 5);
        assert!(!b.exists("objects/x"), "nothing is visible before commit");
        w.commit("objects/x").unwrap();
        assert_eq!(b.get("objects/x").unwrap().unwrap(), b"parts");
        let dropped = b.writer().unwrap();
        drop(dropped);
        assert_eq!(fs::read_dir(dir.path().join(".tmp")).unwrap().count(), 0);
        b.put("objects/orphan", b"o").unwrap();
        let keep: std::collections::HashSet<String> = ["objects/x".to_string()].into();
        assert_eq!(
            b.sweep("objects", &keep, std::time::Duration::ZERO)
                .unwrap(),
            1
        );
        assert!(b.exists("objects/x"));
        assert!(!b.exists("objects/orphan"));
    }
}
