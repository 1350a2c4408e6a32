//! The per-function cache of the parameters and secrets endpoint (pure: time is passed
//! in). Each function has its own entries, bounded in number, each kept for its TTL.

use std::collections::{HashMap, VecDeque};

/// What a function's environment asked for (its `PARAMETERS_SECRETS_EXTENSION_*`,
/// `SSM_PARAMETER_STORE_TTL` and `SECRETS_MANAGER_TTL` variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub enabled: bool,
    pub size_max: usize,
    pub ssm_ttl_ms: i64,
    pub secrets_ttl_ms: i64,
}

/// The defaults of AWS's extension: on, 1000 entries, 300 s for both.
impl Default for Policy {
    fn default() -> Self {
        Self {
            enabled: true,
            size_max: 1000,
            ssm_ttl_ms: 300_000,
            secrets_ttl_ms: 300_000,
        }
    }
}

/// The extension's limits on its variables.
const SIZE_LIMIT: usize = 1000;
const TTL_S_LIMIT: i64 = 300;

impl Policy {
    /// The policy from an environment's variables; values out of range fall back to the
    /// default, as the extension does.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let ttl = |name: &str, default_ms: i64| {
            get(name)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|s| (0..=TTL_S_LIMIT).contains(s))
                .map_or(default_ms, |s| s * 1000)
        };
        let size_max = get("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n <= SIZE_LIMIT)
            .unwrap_or(d.size_max);
        let enabled = get("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED")
            .map(|v| !v.trim().eq_ignore_ascii_case("false"))
            .unwrap_or(true);
        Self {
            enabled: enabled && size_max > 0,
            size_max,
            ssm_ttl_ms: ttl("SSM_PARAMETER_STORE_TTL", d.ssm_ttl_ms),
            secrets_ttl_ms: ttl("SECRETS_MANAGER_TTL", d.secrets_ttl_ms),
        }
    }
}

/// Which API an entry came from (they have separate TTLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Parameter,
    Secret,
}

/// One function's cached replies.
#[derive(Debug, Default)]
pub struct FunctionCache {
    entries: HashMap<(Kind, String), (i64, bytes::Bytes)>,
    /// Insertion order, for evicting the oldest when full.
    order: VecDeque<(Kind, String)>,
}

impl FunctionCache {
    /// A fresh entry for the request, if there is one.
    pub fn get(&self, policy: &Policy, kind: Kind, key: &str, now_ms: i64) -> Option<bytes::Bytes> {
        if !policy.enabled {
            return None;
        }
        let ttl = match kind {
            Kind::Parameter => policy.ssm_ttl_ms,
            Kind::Secret => policy.secrets_ttl_ms,
        };
        let (at, body) = self.entries.get(&(kind, key.to_string()))?;
        (now_ms - at < ttl).then(|| body.clone())
    }

    pub fn put(&mut self, policy: &Policy, kind: Kind, key: &str, body: bytes::Bytes, now_ms: i64) {
        if !policy.enabled {
            return;
        }
        let k = (kind, key.to_string());
        if self.entries.insert(k.clone(), (now_ms, body)).is_none() {
            self.order.push_back(k);
        }
        while self.entries.len() > policy.size_max {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(vars: &[(&str, &str)]) -> Policy {
        Policy::from_settings(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn settings() {
        assert_eq!(policy(&[]), Policy::default());
        let p = policy(&[
            ("SSM_PARAMETER_STORE_TTL", "10"),
            ("SECRETS_MANAGER_TTL", "0"),
        ]);
        assert_eq!((p.ssm_ttl_ms, p.secrets_ttl_ms), (10_000, 0));
        assert_eq!(
            policy(&[("SSM_PARAMETER_STORE_TTL", "301")]).ssm_ttl_ms,
            300_000
        );
        assert!(!policy(&[("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "FALSE")]).enabled);
        assert!(!policy(&[("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "0")]).enabled);
        assert_eq!(
            policy(&[("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "5000")]).size_max,
            1000
        );
    }

    #[test]
    fn entries_expire_and_are_bounded() {
        let p = policy(&[
            ("SSM_PARAMETER_STORE_TTL", "10"),
            ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "2"),
        ]);
        let mut c = FunctionCache::default();
        c.put(&p, Kind::Parameter, "a", "1".into(), 0);
        assert_eq!(
            c.get(&p, Kind::Parameter, "a", 9_999).as_deref(),
            Some(&b"1"[..])
        );
        assert!(c.get(&p, Kind::Parameter, "a", 10_000).is_none());
        assert!(
            c.get(&p, Kind::Secret, "a", 0).is_none(),
            "kinds are separate"
        );
        c.put(&p, Kind::Parameter, "b", "2".into(), 0);
        c.put(&p, Kind::Parameter, "c", "3".into(), 0);
        assert_eq!(c.len(), 2);
        assert!(
            c.get(&p, Kind::Parameter, "a", 1).is_none(),
            "the oldest went"
        );
        let off = policy(&[("SECRETS_MANAGER_TTL", "0")]);
        c.put(&off, Kind::Secret, "s", "x".into(), 0);
        assert!(
            c.get(&off, Kind::Secret, "s", 0).is_none(),
            "a TTL of 0 caches nothing"
        );
    }
}
