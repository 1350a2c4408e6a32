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
}
