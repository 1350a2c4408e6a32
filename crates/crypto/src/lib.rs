//! Encryption at rest: envelope encryption with AES-256-GCM. Every value gets a fresh
//! data key; the data key is stored wrapped by the master key next to the ciphertext, so
//! the master key encrypts only keys and can be replaced by re-wrapping them.
//!
//! Invariants: nothing here logs or formats key material or plaintext; a sealed value
//! opens only with the same master key and the same associated data (the value's
//! identity, so a ciphertext cannot be moved to another record); randomness comes from
//! the operating system.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use std::io::Write;
use std::path::Path;

/// The first byte of every sealed value: the layout below, so it can change later.
const FORMAT_V1: u8 = 1;
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// The wrapped data key: its nonce, the encrypted key and its tag.
const WRAPPED_BYTES: usize = NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Wrong master key, wrong associated data, or a damaged value (deliberately one
    /// case: the reason must not help an attacker).
    #[error("the value cannot be decrypted with this master key")]
    Undecryptable,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadKey,
}

/// The key that wraps every data key.
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(b)
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl MasterKey {
    fn from_bytes(bytes: &[u8; KEY_BYTES]) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
        }
    }

    /// A key given as base64 (a server setting).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        use base64::Engine;
        let bytes = b64().decode(text.trim()).map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The key in `path`, created (random, readable by the owner only) if the file does
    /// not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_base64(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e.to_string())),
            Err(_) => {}
        }
        use base64::Engine;
        use std::os::unix::fs::OpenOptionsExt;
        let bytes: [u8; KEY_BYTES] = random()?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| err(e.to_string()))?;
        f.write_all(b64().encode(bytes).as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| err(e.to_string()))?;
        // `link` fails if another process created the key meanwhile: then that one wins.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    if let Ok(d) = std::fs::File::open(dir) {
                        let _ = d.sync_all();
                    }
                }
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(path),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Encrypts `plaintext` bound to `aad` (the value's identity).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let data_key: [u8; KEY_BYTES] = random()?;
        let key_nonce: [u8; NONCE_BYTES] = random()?;
        let value_nonce: [u8; NONCE_BYTES] = random()?;
        let wrapped = self
            .cipher
            .encrypt(
                Nonce::from_slice(&key_nonce),
                Payload {
                    msg: &data_key,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Undecryptable)?;
        let value_cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key));
        let body = value_cipher
            .encrypt(
                Nonce::from_slice(&value_nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Undecryptable)?;
        let mut out = Vec::with_capacity(1 + WRAPPED_BYTES + NONCE_BYTES + body.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&key_nonce);
        out.extend_from_slice(&wrapped);
        out.extend_from_slice(&value_nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a value sealed with this key and the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + WRAPPED_BYTES + NONCE_BYTES + TAG_BYTES || sealed[0] != FORMAT_V1 {
            return Err(CryptoError::Undecryptable);
        }
        let (key_nonce, rest) = sealed[1..].split_at(NONCE_BYTES);
        let (wrapped, rest) = rest.split_at(KEY_BYTES + TAG_BYTES);
        let (value_nonce, body) = rest.split_at(NONCE_BYTES);
        let data_key = self
            .cipher
            .decrypt(Nonce::from_slice(key_nonce), Payload { msg: wrapped, aad })
            .map_err(|_| CryptoError::Undecryptable)?;
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key))
            .decrypt(Nonce::from_slice(value_nonce), Payload { msg: body, aad })
            .map_err(|_| CryptoError::Undecryptable)
    }

    /// [`Self::seal`] as base64 text, for JSON records.
    pub fn seal_text(&self, plaintext: &[u8], aad: &str) -> Result<String, CryptoError> {
        use base64::Engine;
        Ok(b64().encode(self.seal(plaintext, aad.as_bytes())?))
    }

    /// [`Self::open`] of base64 text made by [`Self::seal_text`].
    pub fn open_text(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, CryptoError> {
        use base64::Engine;
        let bytes = b64()
            .decode(sealed)
            .map_err(|_| CryptoError::Undecryptable)?;
        self.open(&bytes, aad.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_bytes(&[7u8; KEY_BYTES])
    }

    #[test]
    fn round_trip_and_binding() {
        let k = key();
        let sealed = k.seal(b"postgres://secret", b"ssm:/db:1").unwrap();
        assert_eq!(k.open(&sealed, b"ssm:/db:1").unwrap(), b"postgres://secret");
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "no plaintext in the sealed value"
        );
        // Another record's identity, another key, or one flipped bit: nothing opens.
        assert!(k.open(&sealed, b"ssm:/db:2").is_err());
        assert!(MasterKey::from_bytes(&[8u8; KEY_BYTES])
            .open(&sealed, b"ssm:/db:1")
            .is_err());
        for i in [0, 5, 20, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(k.open(&bad, b"ssm:/db:1").is_err(), "byte {i}");
        }
        assert!(k.open(&sealed[..10], b"ssm:/db:1").is_err());
    }

    #[test]
    fn sealing_twice_differs() {
        let k = key();
        assert_ne!(k.seal(b"x", b"a").unwrap(), k.seal(b"x", b"a").unwrap());
        let t = k.seal_text(b"", "a").unwrap();
        assert_eq!(k.open_text(&t, "a").unwrap(), b"");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = MasterKey::load_or_create(&path).unwrap();
        let sealed = a.seal(b"v", b"id").unwrap();
        assert_eq!(b.open(&sealed, b"id").unwrap(), b"v");
        std::fs::write(&path, "not a key").unwrap();
        assert!(MasterKey::load_or_create(&path).is_err());
        assert!(MasterKey::from_base64("AAAA").is_err());
    }
}
