//! Who signed a request: the server's own keys (the account root) or temporary
//! credentials (an execution environment's, or an assumed role's), and the registry the
//! edge checks signatures and session tokens against.
//!
//! Invariants: temporary credentials are only ever accepted with their session token and
//! before they expire; revoked or expired credentials are gone from every lookup; the
//! registry is bounded (`TEMPORARY_MAX`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Temporary credentials alive at once; issuing more evicts none and fails instead, so a
/// caller cannot grow the server's memory without bound.
pub const TEMPORARY_MAX: usize = 100_000;

/// The identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An unsigned request (only the HTTP entry points in front of functions take them).
    Anonymous,
    /// The server's configured keys.
    Root,
    /// An execution environment of a function, acting as the function's role.
    Function {
        function_name: String,
        version: String,
        region: String,
        role_arn: String,
        /// The environment's variables that its local services read (cache settings).
        settings: Vec<(String, String)>,
    },
    /// Credentials from STS AssumeRole.
    AssumedRole {
        role_arn: String,
        session_name: String,
    },
}

fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

impl Principal {
    /// The ARN STS GetCallerIdentity answers with.
    pub fn arn(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".to_string(),
            Principal::Root => format!("arn:aws:iam::{}:root", crate::ACCOUNT_ID),
            Principal::Function {
                function_name,
                role_arn,
                ..
            } => format!(
                "arn:aws:sts::{}:assumed-role/{}/{function_name}",
                crate::ACCOUNT_ID,
                role_name(role_arn)
            ),
            Principal::AssumedRole {
                role_arn,
                session_name,
            } => format!(
                "arn:aws:sts::{}:assumed-role/{}/{session_name}",
                crate::ACCOUNT_ID,
                role_name(role_arn)
            ),
        }
    }

    /// The function an environment's credentials belong to, as `region:name:version`.
    pub fn function(&self) -> Option<String> {
        match self {
            Principal::Function {
                function_name,
                version,
                region,
                ..
            } => Some(format!("{region}:{function_name}:{version}")),
            _ => None,
        }
    }

    /// One of the settings an environment was started with.
    pub fn setting(&self, name: &str) -> Option<&str> {
        match self {
            Principal::Function { settings, .. } => settings
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Credentials handed out by [`Credentials::issue`].
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_ms: Option<i64>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or the token.
        write!(f, "Issued({})", self.access_key_id)
    }
}

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialError {
    UnknownKey,
    /// Temporary credentials without their session token, or with another one.
    BadToken,
    Expired,
}

struct Temporary {
    secret: String,
    token: String,
    principal: Arc<Principal>,
    expires_ms: Option<i64>,
}

/// The keys the edge accepts.
pub struct Credentials {
    statics: Vec<(String, String)>,
    temporary: RwLock<Temporaries>,
}

#[derive(Default)]
struct Temporaries {
    by_key: HashMap<String, Temporary>,
    /// Session token -> access key, for local endpoints authenticated by the token alone.
    by_token: HashMap<String, String>,
}

/// `n` characters drawn from the operating system's random source. Both alphabets have a
/// power-of-two size, so taking each byte modulo the size is unbiased.
fn random_text(n: usize, alphabet: &[u8]) -> String {
    debug_assert!(alphabet.len().is_power_of_two());
    let mut bytes = vec![0u8; n];
    if getrandom::fill(&mut bytes).is_err() {
        // Without the OS source there is no safe secret to hand out; fall back to the
        // seeded generator only so the server keeps working, and say so.
        tracing::error!("the OS random source failed; credentials are weaker than intended");
        for b in bytes.iter_mut() {
            *b = crate::id::next_u64() as u8;
        }
    }
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64ISH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        write!(f, "Credentials({} temporary)", self.temporary_count())
    }
}

impl Credentials {
    /// The registry with the server's own keys.
    pub fn new(statics: Vec<(String, String)>) -> Arc<Self> {
        Arc::new(Self {
            statics,
            temporary: RwLock::new(Temporaries::default()),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Temporaries> {
        self.temporary.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Temporaries> {
        self.temporary.write().unwrap_or_else(|p| p.into_inner())
    }

    /// New temporary credentials for `principal`, valid until `expires_ms` (or until
    /// revoked), or `None` when [`TEMPORARY_MAX`] are alive.
    pub fn issue(
        &self,
        principal: Principal,
        expires_ms: Option<i64>,
        now_ms: i64,
    ) -> Option<Issued> {
        let mut t = self.write();
        if t.by_key.len() >= TEMPORARY_MAX {
            let expired: Vec<String> = t
                .by_key
                .iter()
                .filter(|(_, v)| v.expires_ms.is_some_and(|e| e <= now_ms))
                .map(|(k, _)| k.clone())
                .collect();
            for k in expired {
                if let Some(v) = t.by_key.remove(&k) {
                    t.by_token.remove(&v.token);
                }
            }
            if t.by_key.len() >= TEMPORARY_MAX {
                return None;
            }
        }
        let issued = Issued {
            access_key_id: format!("ASIA{}", random_text(16, UPPER_DIGITS)),
            secret_access_key: random_text(40, BASE64ISH),
            session_token: random_text(160, BASE64ISH),
            expires_ms,
        };
        t.by_token
            .insert(issued.session_token.clone(), issued.access_key_id.clone());
        t.by_key.insert(
            issued.access_key_id.clone(),
            Temporary {
                secret: issued.secret_access_key.clone(),
                token: issued.session_token.clone(),
                principal: Arc::new(principal),
                expires_ms,
            },
        );
        Some(issued)
    }

    /// Withdraws temporary credentials (their environment ended).
    pub fn revoke(&self, access_key_id: &str) {
        let mut t = self.write();
        if let Some(v) = t.by_key.remove(access_key_id) {
            t.by_token.remove(&v.token);
        }
    }

    /// The secret for signature checks.
    pub fn secret_for(&self, access_key_id: &str) -> Option<String> {
        if let Some((_, s)) = self.statics.iter().find(|(k, _)| k == access_key_id) {
            return Some(s.clone());
        }
        self.read()
            .by_key
            .get(access_key_id)
            .map(|t| t.secret.clone())
    }

    /// Who signed with `access_key_id`, given the request's session token (if any).
    pub fn authenticate(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now_ms: i64,
    ) -> Result<Arc<Principal>, CredentialError> {
        if self.statics.iter().any(|(k, _)| k == access_key_id) {
            return Ok(Arc::new(Principal::Root));
        }
        let t = self.read();
        let temp = t
            .by_key
            .get(access_key_id)
            .ok_or(CredentialError::UnknownKey)?;
        if session_token != Some(temp.token.as_str()) {
            return Err(CredentialError::BadToken);
        }
        if temp.expires_ms.is_some_and(|e| e <= now_ms) {
            return Err(CredentialError::Expired);
        }
        Ok(temp.principal.clone())
    }

    /// The principal whose session token this is (live and unexpired).
    pub fn by_session_token(&self, token: &str, now_ms: i64) -> Option<Arc<Principal>> {
        let t = self.read();
        let key = t.by_token.get(token)?;
        let temp = t.by_key.get(key)?;
        if temp.expires_ms.is_some_and(|e| e <= now_ms) {
            return None;
        }
        Some(temp.principal.clone())
    }

    /// Temporary credentials alive now.
    pub fn temporary_count(&self) -> usize {
        self.read().by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> Principal {
        Principal::Function {
            function_name: "f".into(),
            version: "$LATEST".into(),
            region: "us-east-1".into(),
            role_arn: "arn:aws:iam::000000000000:role/service/app".into(),
            settings: vec![("SECRETS_MANAGER_TTL".into(), "60".into())],
        }
    }

    #[test]
    fn temporary_credentials_need_their_token_and_end() {
        let c = Credentials::new(vec![("test".into(), "test".into())]);
        assert_eq!(*c.authenticate("test", None, 0).unwrap(), Principal::Root);
        let i = c.issue(function(), Some(1000), 0).unwrap();
        assert!(i.access_key_id.starts_with("ASIA") && i.access_key_id.len() == 20);
        assert_eq!(
            c.secret_for(&i.access_key_id).as_deref(),
            Some(i.secret_access_key.as_str())
        );
        let p = c
            .authenticate(&i.access_key_id, Some(&i.session_token), 999)
            .unwrap();
        assert_eq!(p.arn(), "arn:aws:sts::000000000000:assumed-role/app/f");
        assert_eq!(p.setting("SECRETS_MANAGER_TTL"), Some("60"));
        assert_eq!(
            c.authenticate(&i.access_key_id, None, 0),
            Err(CredentialError::BadToken)
        );
        assert_eq!(
            c.authenticate(&i.access_key_id, Some("forged"), 0),
            Err(CredentialError::BadToken)
        );
        assert_eq!(
            c.authenticate(&i.access_key_id, Some(&i.session_token), 1000),
            Err(CredentialError::Expired)
        );
        assert!(c.by_session_token(&i.session_token, 1000).is_none());
        assert!(c.by_session_token(&i.session_token, 10).is_some());
        c.revoke(&i.access_key_id);
        assert_eq!(
            c.authenticate(&i.access_key_id, Some(&i.session_token), 0),
            Err(CredentialError::UnknownKey)
        );
        assert!(c.secret_for(&i.access_key_id).is_none());
        assert!(c.by_session_token(&i.session_token, 0).is_none());
        assert_eq!(c.temporary_count(), 0);
    }

    #[test]
    fn issued_credentials_differ_and_do_not_print() {
        let c = Credentials::new(vec![]);
        let a = c.issue(Principal::Root, None, 0).unwrap();
        let b = c.issue(Principal::Root, None, 0).unwrap();
        assert_ne!(a.secret_access_key, b.secret_access_key);
        assert_ne!(a.session_token, b.session_token);
        assert!(!format!("{a:?}").contains(&a.secret_access_key));
    }
}
