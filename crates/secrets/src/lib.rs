//! AWS Secrets Manager (json 1.1, `secretsmanager/2017-10-17`): secrets with versions and
//! staging labels, deletion with a recovery window, random passwords, tags, and rotation by
//! a Lambda function.
//!
//! Invariants: a secret value is only ever stored sealed by the master key, bound to its
//! region, secret ARN and version id, and is never logged; it is opened only to answer the
//! request that asked for it. Secrets live in memory and are written through to the store
//! before a call answers; every change happens under the writer lock, on a copy that
//! replaces the one in memory only after the store commit succeeded, so memory never runs
//! ahead of what is durable.

mod api;
mod error;
pub mod model;
pub mod password;
mod rotation;

pub use error::SecretsError;
pub use rotation::{Rotator, ROTATION_STEPS};

use error::Result;
use model::{Plain, Sealed, Secret};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use store::{Live, ResourceStore, ResourceWrite};
use wire::time::Clock;
use wire::{ApiRequest, ApiResponse, BoxFuture};

/// Resource kinds in the store. A secret's record holds its metadata and versions; each
/// version's sealed value is a record of its own (scope: the secret's ARN, name: the
/// version id), so a change of labels does not rewrite every value.
const SECRET: &str = "secretsmanager.secret";
const VALUE: &str = "secretsmanager.value";

/// Rotations running in the background at once; more wait for a place.
const ROTATIONS_MAX: usize = 32;

/// (region, name)
type Key = (String, String);

#[derive(Default)]
struct State {
    secrets: BTreeMap<Key, Secret>,
    /// Secrets scheduled for deletion, by when they go for good.
    purges: BTreeSet<(i64, Key)>,
}

impl State {
    fn insert(&mut self, key: Key, s: Secret) {
        self.forget_purge(&key);
        if let Some(at) = s.purge_at_ms {
            self.purges.insert((at, key.clone()));
        }
        self.secrets.insert(key, s);
    }

    fn remove(&mut self, key: &Key) {
        self.forget_purge(key);
        self.secrets.remove(key);
    }

    fn forget_purge(&mut self, key: &Key) {
        if let Some(at) = self.secrets.get(key).and_then(|s| s.purge_at_ms) {
            self.purges.remove(&(at, key.clone()));
        }
    }

    /// The secret a SecretId names in `region`: its name, its full ARN, or its ARN without
    /// the random suffix.
    fn find(&self, region: &str, id: &str) -> Option<(&Key, &Secret)> {
        let by_name = |name: &str| self.secrets.get_key_value(&(region.into(), name.into()));
        match model::secret_ref(id, region) {
            model::SecretRef::Name(n) => by_name(&n),
            model::SecretRef::Arn { arn, name } => {
                let full = name
                    .char_indices()
                    .rev()
                    .nth(6)
                    .filter(|(_, c)| *c == '-')
                    .and_then(|(i, _)| by_name(&name[..i]))
                    .filter(|(_, s)| s.arn == arn);
                full.or_else(|| by_name(&name))
            }
            model::SecretRef::Elsewhere => None,
        }
    }
}

struct Inner {
    key: Arc<crypto::MasterKey>,
    clock: Arc<dyn Clock>,
    rotator: Option<Arc<dyn Rotator>>,
    /// The secrets, written through to the store; read by every call without waiting for
    /// a writer's store commit.
    live: Live<State>,
    /// Places for background rotations.
    rotations: tokio::sync::Semaphore,
}

/// The Secrets Manager API.
#[derive(Clone)]
pub struct Secrets {
    inner: Arc<Inner>,
}

/// The associated data that binds a sealed value to its identity.
fn aad(region: &str, arn: &str, version_id: &str) -> String {
    format!("secretsmanager:{region}:{arn}:{version_id}")
}

fn secret_write(region: &str, s: &Secret) -> ResourceWrite {
    ResourceWrite::put(
        SECRET,
        region,
        s.name.as_str(),
        serde_json::to_string(s).unwrap_or_default(),
    )
}

fn value_write(arn: &str, version_id: &str, v: &Sealed) -> ResourceWrite {
    ResourceWrite::put(
        VALUE,
        arn,
        version_id,
        serde_json::to_string(v).unwrap_or_default(),
    )
}

fn value_delete(arn: &str, version_id: &str) -> ResourceWrite {
    ResourceWrite::delete(VALUE, arn, version_id)
}

/// The writes that remove a secret and all its values.
fn delete_writes(region: &str, s: &Secret) -> Vec<ResourceWrite> {
    let mut w = vec![ResourceWrite::delete(SECRET, region, s.name.as_str())];
    w.extend(
        s.versions
            .iter()
            .filter(|v| v.value.is_some())
            .map(|v| value_delete(&s.arn, &v.id)),
    );
    w
}

/// Whether a change stored something.
enum Outcome<T> {
    Changed(T),
    Unchanged(T),
}

impl Secrets {
    /// Loads the stored secrets. `rotator` runs rotation functions; without one,
    /// RotateSecret answers NotImplemented.
    pub fn open(
        store: Arc<dyn ResourceStore>,
        key: Arc<crypto::MasterKey>,
        clock: Arc<dyn Clock>,
        rotator: Option<Arc<dyn Rotator>>,
    ) -> std::result::Result<Self, store::StoreError> {
        let mut st = State::default();
        let mut by_arn: HashMap<String, Key> = HashMap::new();
        for r in store.resources(SECRET)? {
            match serde_json::from_str::<Secret>(&r.body) {
                Ok(s) => {
                    let key = (r.scope, r.name);
                    by_arn.insert(s.arn.clone(), key.clone());
                    st.insert(key, s);
                }
                Err(e) => tracing::warn!("skipping unreadable secret {}/{}: {e}", r.scope, r.name),
            }
        }
        for r in store.resources(VALUE)? {
            let sealed = match serde_json::from_str::<Sealed>(&r.body) {
                Ok(v) => Arc::new(v),
                Err(e) => {
                    tracing::warn!("skipping unreadable value {} {}: {e}", r.scope, r.name);
                    continue;
                }
            };
            let version = by_arn
                .get(&r.scope)
                .and_then(|k| st.secrets.get_mut(k))
                .and_then(|s| s.versions.iter_mut().find(|v| v.id == r.name));
            match version {
                Some(v) => v.value = Some(sealed),
                None => tracing::warn!("value of {} {} has no version", r.scope, r.name),
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                clock,
                rotator,
                live: Live::new(store, st),
                rotations: tokio::sync::Semaphore::new(ROTATIONS_MAX),
            }),
        })
    }

    /// The secrets, written through to the store.
    fn live(&self) -> &Live<State> {
        &self.inner.live
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn seal(&self, region: &str, arn: &str, version_id: &str, plain: &Plain) -> Result<Sealed> {
        let sealed = self
            .inner
            .key
            .seal_text(&plain.bytes, &aad(region, arn, version_id))
            .map_err(|e| SecretsError::Internal(format!("sealing the value failed: {e}")))?;
        Ok(Sealed {
            binary: plain.binary,
            sealed,
        })
    }

    fn open_value(&self, region: &str, arn: &str, version_id: &str, s: &Sealed) -> Result<Plain> {
        let bytes = self
            .inner
            .key
            .open_text(&s.sealed, &aad(region, arn, version_id))
            .map_err(|_| {
                SecretsError::Decryption(
                    "Secrets Manager can't decrypt the protected secret text using the provided KMS key.".into(),
                )
            })?;
        Ok(Plain {
            binary: s.binary,
            bytes,
        })
    }

    /// Runs `f` on the secret `id` names.
    fn with_secret<T>(
        &self,
        region: &str,
        id: &str,
        f: impl FnOnce(&Key, &Secret) -> Result<T>,
    ) -> Result<T> {
        let st = self.live().read();
        let (key, s) = st.find(region, id).ok_or_else(SecretsError::not_found)?;
        f(key, s)
    }

    /// The one path of every change to an existing secret: `change` edits a copy and
    /// names the extra writes (values); the copy is stored and then replaces the secret in
    /// memory.
    async fn change<T>(
        &self,
        region: &str,
        id: &str,
        change: impl FnOnce(&mut Secret, &mut Vec<ResourceWrite>) -> Result<Outcome<T>>,
    ) -> Result<T> {
        let _w = self.live().lock().await;
        let (key, mut s) = self.with_secret(region, id, |k, s| Ok((k.clone(), s.clone())))?;
        let mut writes = Vec::new();
        match change(&mut s, &mut writes)? {
            Outcome::Unchanged(out) => Ok(out),
            Outcome::Changed(out) => {
                writes.push(secret_write(region, &s));
                self.live().commit(writes, vec![], self.now_ms()).await?;
                self.live().write().insert(key, s);
                Ok(out)
            }
        }
    }

    /// Deletes for good the secrets whose recovery window has passed. Called before every
    /// operation, so nothing answers for a secret that should be gone.
    async fn purge_due(&self) -> Result<()> {
        let now = self.now_ms();
        let due = |st: &State| st.purges.first().is_some_and(|(at, _)| *at <= now);
        if !due(&self.live().read()) {
            return Ok(());
        }
        let _w = self.live().lock().await;
        let (keys, writes) = {
            let st = self.live().read();
            let keys: Vec<Key> = st
                .purges
                .iter()
                .take_while(|(at, _)| *at <= now)
                .map(|(_, k)| k.clone())
                .collect();
            let writes: Vec<ResourceWrite> = keys
                .iter()
                .filter_map(|k| st.secrets.get(k).map(|s| delete_writes(&k.0, s)))
                .flatten()
                .collect();
            (keys, writes)
        };
        self.live().commit(writes, vec![], self.now_ms()).await?;
        let mut st = self.live().write();
        for k in &keys {
            tracing::info!(
                "secret {}/{} deleted at the end of its recovery window",
                k.0,
                k.1
            );
            st.remove(k);
        }
        Ok(())
    }
}

impl wire::Service for Secrets {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            match self.dispatch(&req).await {
                Ok(v) => wire::aws_json_response(&v),
                Err(e) => e.into_response(),
            }
        })
    }

    fn error(&self, status: http::StatusCode, code: &str, message: &str) -> ApiResponse {
        wire::aws_json_error(status, code, message)
    }
}

#[cfg(test)]
mod tests;
