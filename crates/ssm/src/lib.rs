//! SSM Parameter Store (json 1.1, `ssm/2014-11-06`): String, StringList and SecureString
//! parameters with versions, labels, hierarchies, search filters and tags.
//!
//! Invariants: parameters live in memory and are written through to the store before a
//! call answers; every change happens under the writer lock, so memory never runs ahead of
//! what is durable. A SecureString value exists at rest (store and memory) only sealed by
//! the master key, bound to its region, name and version; it is opened only to answer a
//! call that asks `WithDecryption`, and no value is ever logged.

mod api;
mod error;
mod model;
mod regex;

pub use error::SsmError;

use error::Result;
use model::{ParamType, Policy, Tier};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use store::{Live, ResourceStore, ResourceWrite};
use wire::time::Clock;

/// Resource kinds in the store: one record per parameter (name and tags) and one per
/// version, so a new version or a moved label rewrites only what changed.
const PARAMETER: &str = "ssm.parameter";
const VERSION: &str = "ssm.version";

/// Settings.
#[derive(Debug, Clone, Copy)]
pub struct SsmConfig {
    /// Standard-tier parameters per region (AWS's quota is 10,000).
    pub standard_parameters_max: usize,
    /// Advanced-tier parameters per region (AWS's quota is 100,000).
    pub advanced_parameters_max: usize,
}

impl Default for SsmConfig {
    fn default() -> Self {
        Self {
            standard_parameters_max: model::STANDARD_PARAMETERS_MAX,
            advanced_parameters_max: model::ADVANCED_PARAMETERS_MAX,
        }
    }
}

/// Who `LastModifiedUser` names for a record stored without one.
fn modified_user() -> String {
    format!("arn:aws:iam::{}:root", wire::ACCOUNT_ID)
}

/// One version of a parameter.
#[derive(Debug, Clone, PartialEq)]
struct Version {
    version: u64,
    ty: ParamType,
    /// The value as stored: plain for String and StringList, sealed (base64) for
    /// SecureString.
    value: String,
    description: Option<String>,
    allowed_pattern: Option<String>,
    /// SecureString only.
    key_id: Option<String>,
    tier: Tier,
    data_type: String,
    policies: Vec<Policy>,
    labels: Vec<String>,
    modified_ms: i64,
    modified_user: String,
}

impl Version {
    fn to_record(&self) -> Value {
        let mut m = Map::new();
        m.insert("Version".into(), json!(self.version));
        m.insert("Type".into(), json!(self.ty.as_str()));
        m.insert("Value".into(), json!(self.value));
        for (k, v) in [
            ("Description", &self.description),
            ("AllowedPattern", &self.allowed_pattern),
            ("KeyId", &self.key_id),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        m.insert("Tier".into(), json!(self.tier.as_str()));
        m.insert("DataType".into(), json!(self.data_type));
        m.insert(
            "Policies".into(),
            Value::Array(
                self.policies
                    .iter()
                    .map(|p| json!({ "Text": p.text, "Type": p.kind }))
                    .collect(),
            ),
        );
        m.insert("Labels".into(), json!(self.labels));
        m.insert("ModifiedMs".into(), json!(self.modified_ms));
        m.insert("ModifiedUser".into(), json!(self.modified_user));
        Value::Object(m)
    }

    fn from_record(v: &Value) -> Option<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Self {
            version: v.get("Version")?.as_u64()?,
            ty: ParamType::parse(v.get("Type")?.as_str()?).ok()?,
            value: s("Value")?,
            description: s("Description"),
            allowed_pattern: s("AllowedPattern"),
            key_id: s("KeyId"),
            tier: Tier::parse(v.get("Tier")?.as_str()?)?,
            data_type: s("DataType").unwrap_or_else(|| model::DEFAULT_DATA_TYPE.into()),
            policies: v
                .get("Policies")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            Some(Policy {
                                text: p.get("Text")?.as_str()?.to_string(),
                                kind: p.get("Type")?.as_str()?.to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
            labels: v
                .get("Labels")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|l| l.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            modified_ms: v.get("ModifiedMs").and_then(Value::as_i64).unwrap_or(0),
            modified_user: s("ModifiedUser").unwrap_or_else(modified_user),
        })
    }
}

/// A parameter: its name as created, its tags and its versions (at most
/// [`model::VERSIONS_MAX`], never none).
#[derive(Debug, Clone, PartialEq)]
struct Param {
    name: String,
    tags: BTreeMap<String, String>,
    versions: BTreeMap<u64, Version>,
}

impl Param {
    fn latest(&self) -> Option<&Version> {
        self.versions.values().next_back()
    }

    fn record(&self) -> Value {
        json!({ "Name": self.name, "Tags": self.tags })
    }
}

/// (region, canonical name) -> parameter. Canonical names sort a path's members together.
type Key = (String, String);

#[derive(Default)]
struct State {
    params: BTreeMap<Key, Param>,
}

impl State {
    /// Parameters of `region` whose current version is in `tier`.
    fn count(&self, region: &str, tier: Tier) -> usize {
        self.params
            .range((region.to_string(), String::new())..)
            .take_while(|(k, _)| k.0 == region)
            .filter(|(_, p)| p.latest().is_some_and(|v| v.tier == tier))
            .count()
    }
}

struct Inner {
    key: Arc<crypto::MasterKey>,
    clock: Arc<dyn Clock>,
    cfg: SsmConfig,
    /// The parameters, written through to the store; read by every Get without waiting
    /// for writers' store commits.
    live: Live<State>,
}

/// The Parameter Store API.
#[derive(Clone)]
pub struct Ssm {
    inner: Arc<Inner>,
}

impl Ssm {
    /// Loads the stored parameters, with the default settings.
    pub fn open(
        store: Arc<dyn ResourceStore>,
        key: Arc<crypto::MasterKey>,
        clock: Arc<dyn Clock>,
    ) -> std::result::Result<Self, store::StoreError> {
        Self::open_with(store, key, clock, SsmConfig::default())
    }

    /// Loads the stored parameters.
    pub fn open_with(
        store: Arc<dyn ResourceStore>,
        key: Arc<crypto::MasterKey>,
        clock: Arc<dyn Clock>,
        cfg: SsmConfig,
    ) -> std::result::Result<Self, store::StoreError> {
        let mut st = State::default();
        for r in store.resources(PARAMETER)? {
            let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
                tracing::warn!(
                    "skipping unreadable parameter record {}/{}",
                    r.scope,
                    r.name
                );
                continue;
            };
            let tags = body["Tags"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let name = body["Name"].as_str().unwrap_or(&r.name).to_string();
            st.params.insert(
                (r.scope, r.name),
                Param {
                    name,
                    tags,
                    versions: BTreeMap::new(),
                },
            );
        }
        for r in store.resources(VERSION)? {
            let Some((region, key)) = r.scope.split_once(':') else {
                continue;
            };
            let version = serde_json::from_str::<Value>(&r.body)
                .ok()
                .and_then(|v| Version::from_record(&v));
            let (Some(v), Some(p)) = (
                version,
                st.params.get_mut(&(region.to_string(), key.to_string())),
            ) else {
                tracing::warn!("skipping parameter version {}/{}", r.scope, r.name);
                continue;
            };
            p.versions.insert(v.version, v);
        }
        st.params.retain(|(region, key), p| {
            let keep = !p.versions.is_empty();
            if !keep {
                tracing::warn!("skipping parameter {region}{key}: it has no versions");
            }
            keep
        });
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                clock,
                cfg,
                live: Live::new(store, st),
            }),
        })
    }

    /// The parameters, written through to the store.
    fn live(&self) -> &Live<State> {
        &self.inner.live
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// What a sealed value is bound to: it opens only as this version of this parameter.
    fn aad(region: &str, key: &str, version: u64) -> String {
        format!("ssm:{region}:{key}:{version}")
    }

    fn seal(&self, region: &str, key: &str, version: u64, plaintext: &str) -> Result<String> {
        self.inner
            .key
            .seal_text(plaintext.as_bytes(), &Self::aad(region, key, version))
            .map_err(|e| SsmError::Internal(e.to_string()))
    }

    /// The plaintext of a SecureString version.
    fn open_value(&self, region: &str, key: &str, name: &str, v: &Version) -> Result<String> {
        let bytes = self
            .inner
            .key
            .open_text(&v.value, &Self::aad(region, key, v.version))
            .map_err(|_| {
                SsmError::InvalidKeyId(format!(
                    "Version {} of parameter {name} cannot be decrypted: the server's master key is not the one it was encrypted with.",
                    v.version
                ))
            })?;
        String::from_utf8(bytes)
            .map_err(|_| SsmError::Internal(format!("The stored value of {name} is not text.")))
    }
}

fn param_write(region: &str, key: &str, p: &Param) -> ResourceWrite {
    ResourceWrite::put(PARAMETER, region, key, p.record().to_string())
}

fn version_scope(region: &str, key: &str) -> String {
    format!("{region}:{key}")
}

fn version_write(region: &str, key: &str, v: &Version) -> ResourceWrite {
    ResourceWrite::put(
        VERSION,
        version_scope(region, key),
        v.version.to_string(),
        v.to_record().to_string(),
    )
}

fn version_delete(region: &str, key: &str, version: u64) -> ResourceWrite {
    ResourceWrite::delete(VERSION, version_scope(region, key), version.to_string())
}

/// Every write that removes a parameter.
fn param_deletes(region: &str, key: &str, p: &Param) -> Vec<ResourceWrite> {
    let mut w = vec![ResourceWrite::delete(PARAMETER, region, key)];
    w.extend(p.versions.keys().map(|&n| version_delete(region, key, n)));
    w
}

impl wire::Service for Ssm {
    fn handle(&self, req: wire::ApiRequest) -> wire::BoxFuture<'_, wire::ApiResponse> {
        Box::pin(async move {
            match self.dispatch(&req).await {
                Ok(v) => wire::aws_json_response(&v),
                Err(e) => e.into_response(),
            }
        })
    }

    fn error(&self, status: http::StatusCode, code: &str, message: &str) -> wire::ApiResponse {
        wire::aws_json_error(status, code, message)
    }
}

#[cfg(test)]
mod tests;
