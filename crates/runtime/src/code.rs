//! Unpacking function code: a zip archive becomes a read-only folder named by its hash,
//! shared by every environment that runs it. Hostile archives (path traversal, absolute
//! paths, escaping links, bombs) are refused before anything is visible.

use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// Why a package could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("Could not unzip uploaded file. Please check your file, then try to upload again.")]
    NotZip,
    #[error("Unzipped size must be smaller than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("The zip file contains too many entries (limit {limit})")]
    TooManyEntries { limit: usize },
    #[error("Invalid zip entry path: {0}")]
    BadPath(String),
    #[error("io error while unpacking: {0}")]
    Io(#[from] std::io::Error),
}

/// Limits on one package.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    pub unzipped_bytes_max: u64,
    pub entries_max: usize,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            unzipped_bytes_max: 250 * 1024 * 1024,
            entries_max: 100_000,
        }
    }
}

/// Checks an entry name and returns the relative path it may be written to.
pub fn safe_relative_path(name: &str) -> Result<PathBuf, UnpackError> {
    if name.contains('\0') || name.contains('\\') {
        return Err(UnpackError::BadPath(name.into()));
    }
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return Err(UnpackError::BadPath(name.into())),
        }
    }
    Ok(out)
}

/// Checks a zip archive fully (names, sizes, data) without writing anything: what
/// CreateFunction does before it stores a package.
pub fn validate(zip_bytes: &[u8], limits: UnpackLimits) -> Result<u64, UnpackError> {
    walk(zip_bytes, limits, None)
}

/// Unpacks `zip_bytes` into `dest` (which must not exist yet), atomically: into a sibling
/// temp folder first, renamed into place when complete. Returns the unzipped size.
pub fn unpack(zip_bytes: &[u8], dest: &Path, limits: UnpackLimits) -> Result<u64, UnpackError> {
    if dest.exists() {
        return Ok(0);
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".unpack-{}-{}",
        std::process::id(),
        wire::id::hex_id(8)
    ));
    fs::create_dir_all(&tmp)?;
    let result = walk(zip_bytes, limits, Some(&tmp));
    match result {
        Ok(size) => {
            make_read_only(&tmp)?;
            match fs::rename(&tmp, dest) {
                Ok(()) => Ok(size),
                // Another unpack of the same hash won the race: theirs is identical.
                Err(_) if dest.exists() => {
                    remove_tree(&tmp);
                    Ok(size)
                }
                Err(e) => {
                    remove_tree(&tmp);
                    Err(e.into())
                }
            }
        }
        Err(e) => {
            remove_tree(&tmp);
            Err(e)
        }
    }
}

/// Removes a tree even where unpacking made it read-only.
pub fn remove_tree(p: &Path) {
    fn writable(p: &Path) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = fs::symlink_metadata(p) {
            if m.is_dir() {
                let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o755));
                if let Ok(rd) = fs::read_dir(p) {
                    for e in rd.flatten() {
                        writable(&e.path());
                    }
                }
            }
        }
    }
    writable(p);
    let _ = fs::remove_dir_all(p);
}

fn make_read_only(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Children first: a read-only folder could not be walked into for changes after.
    for e in fs::read_dir(root)? {
        let e = e?;
        let m = fs::symlink_metadata(e.path())?;
        if m.is_dir() {
            make_read_only(&e.path())?;
        } else if m.is_file() {
            let mode = m.permissions().mode() & 0o555;
            fs::set_permissions(e.path(), fs::Permissions::from_mode(mode | 0o444))?;
        }
    }
    fs::set_permissions(root, fs::Permissions::from_mode(0o555))
}

fn walk(zip_bytes: &[u8], limits: UnpackLimits, dest: Option<&Path>) -> Result<u64, UnpackError> {
    use std::os::unix::fs::PermissionsExt;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).map_err(|_| UnpackError::NotZip)?;
    if archive.len() > limits.entries_max {
        return Err(UnpackError::TooManyEntries {
            limit: limits.entries_max,
        });
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| UnpackError::NotZip)?;
        let rel = safe_relative_path(entry.name())?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        let mode = entry.unix_mode();
        let is_link = mode.is_some_and(|m| m & 0o170000 == 0o120000);
        if entry.is_dir() {
            if let Some(d) = dest {
                fs::create_dir_all(d.join(&rel))?;
            }
            continue;
        }
        if is_link {
            let mut target = String::new();
            (&mut entry)
                .take(4096)
                .read_to_string(&mut target)
                .map_err(|_| UnpackError::NotZip)?;
            // A link may only point inside the package.
            let depth = rel.components().count() - 1;
            let mut level: isize = depth as isize;
            for c in Path::new(&target).components() {
                match c {
                    Component::Normal(_) => level += 1,
                    Component::ParentDir => level -= 1,
                    Component::CurDir => {}
                    _ => return Err(UnpackError::BadPath(entry.name().into())),
                }
                if level < 0 {
                    return Err(UnpackError::BadPath(entry.name().into()));
                }
            }
            if let Some(d) = dest {
                let path = d.join(&rel);
                if let Some(p) = path.parent() {
                    fs::create_dir_all(p)?;
                }
                std::os::unix::fs::symlink(&target, &path)?;
            }
            continue;
        }
        let mut out = match dest {
            Some(d) => {
                let path = d.join(&rel);
                if let Some(p) = path.parent() {
                    fs::create_dir_all(p)?;
                }
                Some(fs::File::create(&path)?)
            }
            None => None,
        };
        // Count what is really inflated, not what the header claims: bombs lie.
        loop {
            let n = entry.read(&mut buf).map_err(|_| UnpackError::NotZip)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limits.unzipped_bytes_max {
                return Err(UnpackError::TooLarge {
                    limit: limits.unzipped_bytes_max,
                });
            }
            if let Some(f) = out.as_mut() {
                f.write_all(&buf[..n])?;
            }
        }
        if let (Some(d), Some(m)) = (dest, mode) {
            let exec = m & 0o111;
            fs::set_permissions(d.join(&rel), fs::Permissions::from_mode(0o644 | exec))?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, SimpleFileOptions::default().unix_permissions(0o755))
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn paths_are_checked() {
        for bad in ["../x", "/etc/passwd", "a/../../x", "a\\b"] {
            assert!(safe_relative_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            safe_relative_path("./a/b.py").unwrap(),
            PathBuf::from("a/b.py")
        );
    }

    #[test]
    fn unpacks_and_refuses_hostile_archives() {
        let dir = tempfile::tempdir().unwrap();
        let good = zip_of(&[("app.py", b"x=1"), ("lib/m.py", b"y=2")]);
        let dest = dir.path().join("code1");
        unpack(&good, &dest, UnpackLimits::default()).unwrap();
        assert_eq!(fs::read(dest.join("lib/m.py")).unwrap(), b"y=2");

        assert!(matches!(
            validate(b"not a zip", UnpackLimits::default()),
            Err(UnpackError::NotZip)
        ));
        let evil = zip_of(&[("../evil.py", b"x")]);
        assert!(matches!(
            unpack(&evil, &dir.path().join("code2"), UnpackLimits::default()),
            Err(UnpackError::BadPath(_))
        ));
        assert!(!dir.path().join("code2").exists());
        assert!(!dir.path().join("evil.py").exists());

        let zeros = vec![0u8; 1 << 20];
        let bomb = zip_of(&[("a", &zeros), ("b", &zeros)]);
        let small = UnpackLimits {
            unzipped_bytes_max: 1 << 20,
            entries_max: 10,
        };
        assert!(matches!(
            validate(&bomb, small),
            Err(UnpackError::TooLarge { .. })
        ));
        remove_tree(&dest);
        assert!(!dest.exists());
    }
}
