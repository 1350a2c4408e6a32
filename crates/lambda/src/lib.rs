//! The Lambda service: the control plane of the `lambda/2015-03-31` API (functions,
//! versions, aliases, concurrency, event invoke configs, function URLs, tags) and Invoke,
//! synchronous straight to the runtime and asynchronous through the delivery outbox.
//!
//! Invariants: every write goes to the store before the reply; code is validated, stored
//! and unpacked before a configuration names it; environments of a changed function are
//! retired in the same call that changes it.

mod error;
mod invoke;
pub mod model;
mod urls;

use base64::Engine;
use error::{LambdaError, Result};
use http::{Method, StatusCode};
use model::*;
use runtime::{EnvSpec, Runtime, RuntimeKind};
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use store::{BlobStore, FunctionStore, FunctionWrite};
use wire::{ApiRequest, ApiResponse, BoxFuture};

pub use invoke::{
    async_invoke_entry, HttpInvokeError, HttpInvokeResult, LambdaDeliverer, MappingFunction,
};
pub use runtime::{ResponseStream, StreamPiece, RESPONSE_BYTES_MAX};
pub use urls::FunctionUrl;

/// Lambda service settings.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// Where unpacked code lives, one folder per code hash.
    pub code_dir: PathBuf,
    pub unpack_limits: runtime::code::UnpackLimits,
    /// The first retry of a failed async invocation waits this long (Lambda: about a minute).
    pub async_retry_base_delay_ms: i64,
    pub account_concurrency: u32,
    /// Where clients reach this server (`host:port`). Function URLs are
    /// `http://<url-id>.lambda-url.<region>.localhost:<port>/` on its port; without it,
    /// on the port of the request's `Host`.
    pub public_base: Option<String>,
}

/// The Lambda API.
#[derive(Clone)]
pub struct Lambda {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn FunctionStore>,
    blobs: Arc<dyn BlobStore>,
    runtime: Runtime,
    delivery: delivery::Delivery,
    cfg: LambdaConfig,
    /// Resolved functions by `region\0name\0qualifier`; dropped on every write to the function.
    cache: RwLock<HashMap<String, Arc<Resolved>>>,
    /// Control-plane writes are read-modify-write on a function's records: one at a time.
    writes: tokio::sync::Mutex<()>,
    /// Function URLs by URL id, read on every data-plane request; written only under
    /// `writes`, after the change committed.
    urls: RwLock<urls::UrlIndex>,
}

/// A function version ready to invoke.
pub(crate) struct Resolved {
    pub spec: Arc<EnvSpec>,
    pub version: String,
    /// Weighted alias routing: another version and the share of traffic it gets.
    pub alternate: Option<(f64, Arc<EnvSpec>, String)>,
}

fn body_json(req: &ApiRequest) -> Result<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(|e| {
        LambdaError::InvalidRequestContent(format!("Could not parse request body into json: {e}"))
    })?;
    if !v.is_object() {
        return Err(LambdaError::InvalidRequestContent(
            "Could not parse request body into json: expected an object".into(),
        ));
    }
    Ok(v)
}

fn ok(status: StatusCode, v: &Value) -> Result<ApiResponse> {
    Ok(wire::json_response(status, v))
}

fn cache_key(region: &str, name: &str, qualifier: Option<&str>) -> String {
    format!("{region}\0{name}\0{}", qualifier.unwrap_or(""))
}

impl Lambda {
    pub fn new(
        store: Arc<dyn FunctionStore>,
        blobs: Arc<dyn BlobStore>,
        runtime: Runtime,
        delivery: delivery::Delivery,
        cfg: LambdaConfig,
    ) -> Self {
        // A store that cannot be read now fails every function call after it too; the URLs
        // it holds are missing from the index until the next start.
        let urls = Self::load_url_index(store.as_ref()).unwrap_or_else(|e| {
            tracing::error!("could not load the function URLs: {e}");
            urls::UrlIndex::new()
        });
        Self {
            inner: Arc::new(Inner {
                store,
                blobs,
                runtime,
                delivery,
                cfg,
                cache: RwLock::new(HashMap::new()),
                writes: tokio::sync::Mutex::new(()),
                urls: RwLock::new(urls),
            }),
        }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    fn forget(&self, region: &str, name: &str) {
        let prefix = format!("{region}\0{name}\0");
        self.inner
            .cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| !k.starts_with(&prefix));
    }

    fn meta(&self, region: &str, name: &str) -> Result<Meta> {
        let m = self
            .inner
            .store
            .function_meta(region, name)?
            .ok_or_else(|| {
                LambdaError::NotFound(format!(
                    "Function not found: {}",
                    function_arn(region, name)
                ))
            })?;
        serde_json::from_str(&m)
            .map_err(|e| LambdaError::Service(format!("corrupt function record: {e}")))
    }

    fn version_record(
        &self,
        region: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<VersionRecord>> {
        match self.inner.store.version(region, name, version)? {
            Some(s) => Ok(Some(serde_json::from_str(&s).map_err(|e| {
                LambdaError::Service(format!("corrupt version record: {e}"))
            })?)),
            None => Ok(None),
        }
    }

    fn alias_record(&self, region: &str, name: &str, alias: &str) -> Result<Option<Value>> {
        match self.inner.store.alias(region, name, alias)? {
            Some(s) => Ok(Some(serde_json::from_str(&s).map_err(|e| {
                LambdaError::Service(format!("corrupt alias record: {e}"))
            })?)),
            None => Ok(None),
        }
    }

    /// The version a qualifier names (`$LATEST`, a number, or an alias's target).
    fn resolve_version(
        &self,
        region: &str,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(String, VersionRecord)> {
        let not_found = |q: &str| {
            LambdaError::NotFound(format!(
                "Function not found: {}:{q}",
                function_arn(region, name)
            ))
        };
        let q = qualifier.unwrap_or("$LATEST");
        let version = if q == "$LATEST" || is_version_number(q) {
            q.to_string()
        } else {
            let alias = self
                .alias_record(region, name, q)?
                .ok_or_else(|| not_found(q))?;
            alias["FunctionVersion"]
                .as_str()
                .unwrap_or("$LATEST")
                .to_string()
        };
        let rec = self
            .version_record(region, name, &version)?
            .ok_or_else(|| {
                if qualifier.is_none() {
                    LambdaError::NotFound(format!(
                        "Function not found: {}",
                        function_arn(region, name)
                    ))
                } else {
                    not_found(q)
                }
            })?;
        Ok((version, rec))
    }

    fn spec_for(
        &self,
        region: &str,
        name: &str,
        version: &str,
        rec: &VersionRecord,
        meta: &Meta,
    ) -> Result<Arc<EnvSpec>> {
        let c = &rec.config;
        let runtime = c["Runtime"].as_str().unwrap_or("").to_string();
        let kind = RuntimeKind::from_runtime(&runtime)
            .ok_or_else(|| LambdaError::Service(format!("unsupported runtime {runtime}")))?;
        let code_dir = self.ensure_unpacked(&rec.code)?;
        let env = c["Environment"]["Variables"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Arc::new(EnvSpec {
            pool_key: format!(
                "{region}:{name}:{version}:{}",
                c["RevisionId"].as_str().unwrap_or("")
            ),
            function_key: format!("{region}:{name}"),
            function_name: name.to_string(),
            version: version.to_string(),
            region: region.to_string(),
            runtime,
            kind,
            handler: c["Handler"].as_str().unwrap_or("").to_string(),
            code_dir,
            memory_mb: c["MemorySize"].as_u64().unwrap_or(128) as u32,
            timeout_ms: c["Timeout"].as_u64().unwrap_or(3) * 1000,
            ephemeral_mb: c["EphemeralStorage"]["Size"].as_u64().unwrap_or(512) as u32,
            env,
            reserved_concurrency: meta.reserved_concurrency,
            log_group: c["LoggingConfig"]["LogGroup"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("/aws/lambda/{name}")),
            role: c["Role"].as_str().unwrap_or_default().to_string(),
        }))
    }

    /// Resolves a function and qualifier to what the runtime needs, through the cache.
    pub(crate) fn resolve(
        &self,
        region: &str,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Arc<Resolved>> {
        let key = cache_key(region, name, qualifier);
        if let Some(r) = self
            .inner
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(r.clone());
        }
        let meta = self.meta(region, name)?;
        let (version, rec) = self.resolve_version(region, name, qualifier)?;
        let spec = self.spec_for(region, name, &version, &rec, &meta)?;
        let mut alternate = None;
        if let Some(q) = qualifier.filter(|q| *q != "$LATEST" && !is_version_number(q)) {
            if let Some(alias) = self.alias_record(region, name, q)? {
                if let Some((v, w)) = alias["RoutingConfig"]["AdditionalVersionWeights"]
                    .as_object()
                    .and_then(|m| m.iter().next())
                {
                    if let Some(arec) = self.version_record(region, name, v)? {
                        let aspec = self.spec_for(region, name, v, &arec, &meta)?;
                        alternate = Some((w.as_f64().unwrap_or(0.0), aspec, v.clone()));
                    }
                }
            }
        }
        let r = Arc::new(Resolved {
            spec,
            version,
            alternate,
        });
        self.inner
            .cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, r.clone());
        Ok(r)
    }

    fn ensure_unpacked(&self, code: &str) -> Result<PathBuf> {
        let dir = self.inner.cfg.code_dir.join(code);
        if dir.exists() {
            return Ok(dir);
        }
        let zip = self
            .inner
            .blobs
            .get(&format!("code/{code}.zip"))?
            .ok_or_else(|| LambdaError::Service(format!("code package {code} is missing")))?;
        runtime::code::unpack(&zip, &dir, self.inner.cfg.unpack_limits)
            .map_err(|e| LambdaError::Service(format!("could not unpack code: {e}")))?;
        Ok(dir)
    }

    /// Validates, stores and unpacks a zip; returns (hex hash, base64 hash, size).
    fn store_code(&self, body: &Value) -> Result<(String, String, u64)> {
        let code = body.get("Code").unwrap_or(body);
        if code.get("S3Bucket").is_some() || code.get("ImageUri").is_some() {
            return Err(LambdaError::NotImplemented(
                "Code from S3 or container images is not implemented by Eddy yet; upload a ZipFile"
                    .into(),
            ));
        }
        let b64 = code.get("ZipFile").and_then(Value::as_str).ok_or_else(|| {
            LambdaError::InvalidParameter("Please provide a source for function code.".into())
        })?;
        let zip = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| LambdaError::InvalidParameter("ZipFile is not valid base64".into()))?;
        if zip.len() > ZIP_BYTES_MAX {
            return Err(LambdaError::RequestTooLarge(format!(
                "Request must be smaller than {ZIP_BYTES_MAX} bytes for the CreateFunction operation"
            )));
        }
        runtime::code::validate(&zip, self.inner.cfg.unpack_limits)
            .map_err(|e| LambdaError::InvalidParameter(e.to_string()))?;
        let digest = sha2::Sha256::digest(&zip);
        let hex = hex::encode(digest);
        let b64sum = base64::engine::general_purpose::STANDARD.encode(digest);
        let key = format!("code/{hex}.zip");
        if !self.inner.blobs.exists(&key) {
            self.inner.blobs.put(&key, &zip)?;
        }
        runtime::code::unpack(
            &zip,
            &self.inner.cfg.code_dir.join(&hex),
            self.inner.cfg.unpack_limits,
        )
        .map_err(|e| LambdaError::InvalidParameter(e.to_string()))?;
        Ok((hex, b64sum, zip.len() as u64))
    }

    fn check_runtime_handler(config: &Value) -> Result<()> {
        let rt = config["Runtime"].as_str().unwrap_or("");
        if rt.is_empty() {
            return Err(LambdaError::InvalidParameter(
                "The Runtime parameter is required for functions of package type Zip".into(),
            ));
        }
        if !rt.starts_with("provided") && config["Handler"].as_str().unwrap_or("").is_empty() {
            return Err(LambdaError::InvalidParameter(format!(
                "The Handler parameter is required for runtime {rt}"
            )));
        }
        Ok(())
    }

    async fn create_function(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let name_in = body["FunctionName"].as_str().ok_or_else(|| {
            LambdaError::Validation("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null".into())
        })?;
        let fref = parse_function_ref(name_in, "functionName")?;
        if fref.qualifier.is_some() {
            return Err(LambdaError::InvalidParameter(
                "FunctionName must not include a qualifier".into(),
            ));
        }
        if let Some(pt) = body["PackageType"].as_str() {
            if pt != "Zip" {
                return Err(LambdaError::NotImplemented(
                    "Container image functions are not implemented by Eddy yet; use PackageType Zip".into(),
                ));
            }
        }
        let input = ConfigInput::parse(&body)?;
        if input.role.is_none() {
            return Err(LambdaError::Validation("1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null".into()));
        }
        let region = &req.region;
        let name = &fref.name;
        let mut config = new_config(region, name, wire::time::now_ms());
        input.apply_to(&mut config);
        Self::check_runtime_handler(&config)?;
        let mut tags = std::collections::BTreeMap::new();
        merge_tags(&mut tags, &body)?;
        let _w = self.inner.writes.lock().await;
        if self.inner.store.function_meta(region, name)?.is_some() {
            return Err(LambdaError::Conflict(format!(
                "Function already exist: {name}"
            )));
        }
        let (hex, sum, size) = self.store_code(&body)?;
        config["CodeSha256"] = json!(sum);
        config["CodeSize"] = json!(size);
        let mut meta = Meta {
            next_version: 1,
            tags,
            ..Default::default()
        };
        let latest = VersionRecord {
            config: config.clone(),
            code: hex,
        };
        let mut writes = vec![
            FunctionWrite::Create {
                meta: String::new(),
            },
            FunctionWrite::PutVersion {
                version: "$LATEST".into(),
                config: serde_json::to_string(&latest).unwrap_or_default(),
            },
        ];
        let mut reply = config;
        if body["Publish"].as_bool() == Some(true) {
            let v = self.new_version(region, name, &latest, &mut meta, None);
            writes.push(FunctionWrite::PutVersion {
                version: "1".into(),
                config: serde_json::to_string(&v).unwrap_or_default(),
            });
            reply = v.config;
        }
        writes[0] = FunctionWrite::Create {
            meta: serde_json::to_string(&meta).unwrap_or_default(),
        };
        self.inner.store.apply(region, name, &writes)?;
        self.forget(region, name);
        if let Some(kind) = reply["Runtime"]
            .as_str()
            .and_then(RuntimeKind::from_runtime)
        {
            self.inner.runtime.prepare_sdk(kind);
        }
        ok(StatusCode::CREATED, &reply)
    }

    fn new_version(
        &self,
        region: &str,
        name: &str,
        latest: &VersionRecord,
        meta: &mut Meta,
        description: Option<&str>,
    ) -> VersionRecord {
        let n = meta.next_version.max(1);
        meta.next_version = n + 1;
        let mut c = latest.config.clone();
        c["Version"] = json!(n.to_string());
        c["FunctionArn"] = json!(format!("{}:{n}", function_arn(region, name)));
        c["RevisionId"] = json!(wire::id::uuid4());
        if let Some(d) = description {
            c["Description"] = json!(d);
        }
        VersionRecord {
            config: c,
            code: latest.code.clone(),
        }
    }

    fn get_function(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let region = &req.region;
        let meta = self.meta(region, &fref.name)?;
        let (_, rec) = self.resolve_version(region, &fref.name, fref.qualifier.as_deref())?;
        let host = req.header("host").unwrap_or("127.0.0.1:4566");
        let mut out = json!({
            "Configuration": rec.config,
            "Code": { "RepositoryType": "S3", "Location": format!("http://{host}/_eddy/code/{}.zip", rec.code) },
            "Tags": meta.tags,
        });
        if let Some(n) = meta.reserved_concurrency {
            out["Concurrency"] = json!({ "ReservedConcurrentExecutions": n });
        }
        ok(StatusCode::OK, &out)
    }

    fn list_functions(&self, req: &ApiRequest) -> Result<ApiResponse> {
        if req.query_param("FunctionVersion") == Some("ALL") {
            // Every version of every function, paged over `name:version` markers.
            let mut all = Vec::new();
            for (region, name) in self.inner.store.all_functions()? {
                if region != req.region {
                    continue;
                }
                for (_, c) in self.inner.store.versions(&region, &name)? {
                    if let Ok(r) = serde_json::from_str::<VersionRecord>(&c) {
                        all.push(r.config);
                    }
                }
            }
            let (page, next) = paginate(all, req, |c| {
                format!(
                    "{}:{}",
                    c["FunctionName"].as_str().unwrap_or(""),
                    c["Version"].as_str().unwrap_or("")
                )
            })?;
            let mut out = json!({ "Functions": page });
            if let Some(n) = next {
                out["NextMarker"] = json!(n);
            }
            return ok(StatusCode::OK, &out);
        }
        let max = max_items(req)?;
        let marker = req.query_param("Marker").filter(|m| !m.is_empty());
        let mut rows = self
            .inner
            .store
            .list_functions(&req.region, marker, max + 1)?;
        let more = rows.len() > max;
        rows.truncate(max);
        let next = if more {
            rows.last().map(|r| r.0.clone())
        } else {
            None
        };
        let functions: Vec<Value> = rows
            .into_iter()
            .filter_map(|(_, c)| {
                serde_json::from_str::<VersionRecord>(&c)
                    .ok()
                    .map(|r| r.config)
            })
            .collect();
        let mut out = json!({ "Functions": functions });
        if let Some(n) = next {
            out["NextMarker"] = json!(n);
        }
        ok(StatusCode::OK, &out)
    }

    async fn update_code(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.meta(region, name)?;
        let mut latest = self
            .version_record(region, name, "$LATEST")?
            .ok_or_else(|| {
                LambdaError::NotFound(format!(
                    "Function not found: {}",
                    function_arn(region, name)
                ))
            })?;
        check_revision(&body, &latest.config)?;
        let (hex, sum, size) = self.store_code(&body)?;
        if body["DryRun"].as_bool() == Some(true) {
            let mut c = latest.config.clone();
            c["CodeSha256"] = json!(sum);
            c["CodeSize"] = json!(size);
            return ok(StatusCode::OK, &c);
        }
        latest.code = hex;
        latest.config["CodeSha256"] = json!(sum);
        latest.config["CodeSize"] = json!(size);
        touch(&mut latest.config);
        let mut writes = vec![FunctionWrite::PutVersion {
            version: "$LATEST".into(),
            config: serde_json::to_string(&latest).unwrap_or_default(),
        }];
        let mut reply = latest.config.clone();
        if body["Publish"].as_bool() == Some(true) {
            let v = self.new_version(region, name, &latest, &mut meta, None);
            writes.push(FunctionWrite::PutVersion {
                version: v.config["Version"].as_str().unwrap_or("1").to_string(),
                config: serde_json::to_string(&v).unwrap_or_default(),
            });
            writes.push(FunctionWrite::SetMeta {
                meta: serde_json::to_string(&meta).unwrap_or_default(),
            });
            reply = v.config;
        }
        self.inner.store.apply(region, name, &writes)?;
        self.forget(region, name);
        self.inner
            .runtime
            .retire_function(&format!("{region}:{name}"));
        ok(StatusCode::OK, &reply)
    }

    async fn update_configuration(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
    ) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let input = ConfigInput::parse(&body)?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut latest = self
            .version_record(region, name, "$LATEST")?
            .ok_or_else(|| {
                LambdaError::NotFound(format!(
                    "Function not found: {}",
                    function_arn(region, name)
                ))
            })?;
        check_revision(&body, &latest.config)?;
        input.apply_to(&mut latest.config);
        Self::check_runtime_handler(&latest.config)?;
        touch(&mut latest.config);
        self.inner.store.apply(
            region,
            name,
            &[FunctionWrite::PutVersion {
                version: "$LATEST".into(),
                config: serde_json::to_string(&latest).unwrap_or_default(),
            }],
        )?;
        self.forget(region, name);
        self.inner
            .runtime
            .retire_function(&format!("{region}:{name}"));
        ok(StatusCode::OK, &latest.config)
    }

    async fn delete_function(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        self.meta(region, name)?;
        match fref.qualifier.as_deref() {
            None => {
                self.inner
                    .store
                    .apply(region, name, &[FunctionWrite::Delete])?;
                self.reindex_urls(region, name, None);
            }
            Some("$LATEST") => {
                return Err(LambdaError::InvalidParameter(
                    "$LATEST version cannot be deleted without deleting the function.".into(),
                ))
            }
            Some(v) if is_version_number(v) => {
                if self.version_record(region, name, v)?.is_none() {
                    return Err(LambdaError::NotFound(format!(
                        "Function not found: {}:{v}",
                        function_arn(region, name)
                    )));
                }
                for (alias, config) in self.inner.store.aliases(region, name)? {
                    let c: Value = serde_json::from_str(&config).unwrap_or_default();
                    if c["FunctionVersion"] == v {
                        return Err(LambdaError::Conflict(format!(
                            "Unable to delete version because the following aliases reference it: [{alias}]"
                        )));
                    }
                }
                self.inner.store.apply(
                    region,
                    name,
                    &[FunctionWrite::DeleteVersion { version: v.into() }],
                )?;
            }
            Some(_) => {
                return Err(LambdaError::InvalidParameter(
                    "Deletion of aliases is not supported by DeleteFunction; use DeleteAlias"
                        .into(),
                ))
            }
        }
        self.forget(region, name);
        self.inner
            .runtime
            .retire_function(&format!("{region}:{name}"));
        Ok(wire::empty_response(StatusCode::NO_CONTENT))
    }

    async fn publish_version(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.meta(region, name)?;
        let latest = self
            .version_record(region, name, "$LATEST")?
            .ok_or_else(|| {
                LambdaError::NotFound(format!(
                    "Function not found: {}",
                    function_arn(region, name)
                ))
            })?;
        if let Some(sum) = body["CodeSha256"].as_str() {
            if latest.config["CodeSha256"] != sum {
                return Err(LambdaError::InvalidParameter(format!(
                    "CodeSHA256 ({sum}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                    latest.config["CodeSha256"].as_str().unwrap_or("")
                )));
            }
        }
        check_revision(&body, &latest.config)?;
        let versions = self.inner.store.versions(region, name)?;
        if let Some((_, last)) = versions.iter().rev().find(|(v, _)| v != "$LATEST") {
            let last: VersionRecord =
                serde_json::from_str(last).map_err(|e| LambdaError::Service(e.to_string()))?;
            if publish_fingerprint(&last.config) == publish_fingerprint(&latest.config) {
                return ok(StatusCode::CREATED, &last.config);
            }
        }
        let v = self.new_version(
            region,
            name,
            &latest,
            &mut meta,
            body["Description"].as_str(),
        );
        self.inner.store.apply(
            region,
            name,
            &[
                FunctionWrite::PutVersion {
                    version: v.config["Version"].as_str().unwrap_or("1").to_string(),
                    config: serde_json::to_string(&v).unwrap_or_default(),
                },
                FunctionWrite::SetMeta {
                    meta: serde_json::to_string(&meta).unwrap_or_default(),
                },
            ],
        )?;
        self.forget(region, name);
        ok(StatusCode::CREATED, &v.config)
    }

    fn list_versions(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        self.meta(&req.region, &fref.name)?;
        let all: Vec<Value> = self
            .inner
            .store
            .versions(&req.region, &fref.name)?
            .into_iter()
            .filter_map(|(_, c)| {
                serde_json::from_str::<VersionRecord>(&c)
                    .ok()
                    .map(|r| r.config)
            })
            .collect();
        let (page, next) = paginate(all, req, |c| {
            c["Version"].as_str().unwrap_or("").to_string()
        })?;
        let mut out = json!({ "Versions": page });
        if let Some(n) = next {
            out["NextMarker"] = json!(n);
        }
        ok(StatusCode::OK, &out)
    }

    fn alias_out(region: &str, name: &str, alias: &str, c: &Value) -> Value {
        let mut out = json!({
            "AliasArn": format!("{}:{alias}", function_arn(region, name)),
            "Name": alias,
            "FunctionVersion": c["FunctionVersion"],
            "Description": c["Description"].as_str().unwrap_or(""),
            "RevisionId": c["RevisionId"],
        });
        if !c["RoutingConfig"].is_null() {
            out["RoutingConfig"] = c["RoutingConfig"].clone();
        }
        out
    }

    fn check_alias_target(&self, region: &str, name: &str, body: &Value) -> Result<()> {
        if let Some(v) = body["FunctionVersion"].as_str() {
            if v != "$LATEST"
                && (!is_version_number(v) || self.version_record(region, name, v)?.is_none())
            {
                return Err(LambdaError::NotFound(format!(
                    "Function not found: {}:{v}",
                    function_arn(region, name)
                )));
            }
        }
        if let Some(w) = body["RoutingConfig"]["AdditionalVersionWeights"].as_object() {
            if w.len() > 1 {
                return Err(LambdaError::InvalidParameter(
                    "Number of items in AdditionalVersionWeights cannot be greater than 1".into(),
                ));
            }
            for (v, weight) in w {
                let wv = weight.as_f64().unwrap_or(-1.0);
                if !(0.0..=1.0).contains(&wv) {
                    return Err(LambdaError::Validation(format!(
                        "Invalid weight {weight} for version {v}"
                    )));
                }
                if self.version_record(region, name, v)?.is_none() {
                    return Err(LambdaError::NotFound(format!(
                        "Function not found: {}:{v}",
                        function_arn(region, name)
                    )));
                }
            }
        }
        Ok(())
    }

    async fn create_alias(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let body = body_json(req)?;
        let region = &req.region;
        let name = &fref.name;
        let alias = body["Name"].as_str().unwrap_or("").to_string();
        check_alias_name(&alias)?;
        if body["FunctionVersion"].as_str().is_none() {
            return Err(LambdaError::Validation("1 validation error detected: Value null at 'functionVersion' failed to satisfy constraint: Member must not be null".into()));
        }
        let _w = self.inner.writes.lock().await;
        self.meta(region, name)?;
        if self.alias_record(region, name, &alias)?.is_some() {
            return Err(LambdaError::Conflict(format!(
                "Alias already exists: {}:{alias}",
                function_arn(region, name)
            )));
        }
        self.check_alias_target(region, name, &body)?;
        let c = json!({
            "FunctionVersion": body["FunctionVersion"],
            "Description": body["Description"].as_str().unwrap_or(""),
            "RoutingConfig": body["RoutingConfig"],
            "RevisionId": wire::id::uuid4(),
        });
        self.inner.store.apply(
            region,
            name,
            &[FunctionWrite::PutAlias {
                alias: alias.clone(),
                config: c.to_string(),
            }],
        )?;
        self.forget(region, name);
        ok(
            StatusCode::CREATED,
            &Self::alias_out(region, name, &alias, &c),
        )
    }

    async fn alias_op(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
        alias: &str,
    ) -> Result<ApiResponse> {
        let region = &req.region;
        let name = &fref.name;
        let not_found = || {
            LambdaError::NotFound(format!(
                "Alias not found: {}:{alias}",
                function_arn(region, name)
            ))
        };
        match req.method {
            Method::GET => {
                self.meta(region, name)?;
                let c = self
                    .alias_record(region, name, alias)?
                    .ok_or_else(not_found)?;
                ok(StatusCode::OK, &Self::alias_out(region, name, alias, &c))
            }
            Method::PUT => {
                let body = body_json(req)?;
                let _w = self.inner.writes.lock().await;
                self.meta(region, name)?;
                let mut c = self
                    .alias_record(region, name, alias)?
                    .ok_or_else(not_found)?;
                if let Some(r) = body["RevisionId"].as_str() {
                    if c["RevisionId"] != r {
                        return Err(LambdaError::PreconditionFailed(
                            "The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id".into(),
                        ));
                    }
                }
                self.check_alias_target(region, name, &body)?;
                for k in ["FunctionVersion", "Description", "RoutingConfig"] {
                    if !body[k].is_null() {
                        c[k] = body[k].clone();
                    }
                }
                c["RevisionId"] = json!(wire::id::uuid4());
                self.inner.store.apply(
                    region,
                    name,
                    &[FunctionWrite::PutAlias {
                        alias: alias.into(),
                        config: c.to_string(),
                    }],
                )?;
                self.forget(region, name);
                ok(StatusCode::OK, &Self::alias_out(region, name, alias, &c))
            }
            Method::DELETE => {
                let _w = self.inner.writes.lock().await;
                let mut meta = self.meta(region, name)?;
                let mut writes = vec![FunctionWrite::DeleteAlias {
                    alias: alias.into(),
                }];
                // The alias's function URL goes with it, in the same commit.
                let had_url = meta.urls.remove(alias).is_some();
                if had_url {
                    writes.push(FunctionWrite::SetMeta {
                        meta: serde_json::to_string(&meta).unwrap_or_default(),
                    });
                }
                self.inner.store.apply(region, name, &writes)?;
                self.forget(region, name);
                if had_url {
                    self.reindex_urls(region, name, Some(&meta));
                }
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(not_implemented(req)),
        }
    }

    fn list_aliases(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let region = &req.region;
        let name = &fref.name;
        self.meta(region, name)?;
        let want = req.query_param("FunctionVersion");
        let all: Vec<Value> = self
            .inner
            .store
            .aliases(region, name)?
            .into_iter()
            .filter_map(|(a, c)| {
                let c: Value = serde_json::from_str(&c).ok()?;
                if want.is_some_and(|w| c["FunctionVersion"] != w) {
                    return None;
                }
                Some(Self::alias_out(region, name, &a, &c))
            })
            .collect();
        let (page, next) = paginate(all, req, |c| c["Name"].as_str().unwrap_or("").to_string())?;
        let mut out = json!({ "Aliases": page });
        if let Some(n) = next {
            out["NextMarker"] = json!(n);
        }
        ok(StatusCode::OK, &out)
    }

    async fn concurrency(&self, req: &ApiRequest, fref: &FunctionRef) -> Result<ApiResponse> {
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.meta(region, name)?;
        match req.method {
            Method::GET => ok(
                StatusCode::OK,
                &match meta.reserved_concurrency {
                    Some(n) => json!({ "ReservedConcurrentExecutions": n }),
                    None => json!({}),
                },
            ),
            Method::PUT => {
                let body = body_json(req)?;
                let n = body["ReservedConcurrentExecutions"].as_u64().ok_or_else(|| {
                    LambdaError::Validation("1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null".into())
                })?;
                // As on AWS, reservations may not leave less than the account's minimum
                // unreserved concurrency (100, or a tenth of a smaller configured limit).
                let limit = self.inner.cfg.account_concurrency as u64;
                let minimum = (limit / 10).min(100);
                let mut others = 0u64;
                for (r, f) in self.inner.store.all_functions()? {
                    if r == *region && f != *name {
                        others += self.meta(&r, &f)?.reserved_concurrency.unwrap_or(0) as u64;
                    }
                }
                if others + n > limit.saturating_sub(minimum) {
                    return Err(LambdaError::InvalidParameter(format!(
                        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}]."
                    )));
                }
                meta.reserved_concurrency = Some(n as u32);
                self.save_meta(region, name, &meta)?;
                ok(
                    StatusCode::OK,
                    &json!({ "ReservedConcurrentExecutions": n }),
                )
            }
            Method::DELETE => {
                meta.reserved_concurrency = None;
                self.save_meta(region, name, &meta)?;
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(not_implemented(req)),
        }
    }

    fn save_meta(&self, region: &str, name: &str, meta: &Meta) -> Result<()> {
        self.inner.store.apply(
            region,
            name,
            &[FunctionWrite::SetMeta {
                meta: serde_json::to_string(meta).unwrap_or_default(),
            }],
        )?;
        self.forget(region, name);
        Ok(())
    }

    async fn invoke_config(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
        list: bool,
    ) -> Result<ApiResponse> {
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.meta(region, name)?;
        let qualifier = req
            .query_param("Qualifier")
            .or(fref.qualifier.as_deref())
            .unwrap_or("$LATEST")
            .to_string();
        if list {
            let all: Vec<Value> = meta
                .invoke_configs
                .iter()
                .map(|(q, c)| invoke_config_out(region, name, q, c))
                .collect();
            return ok(
                StatusCode::OK,
                &json!({ "FunctionEventInvokeConfigs": all }),
            );
        }
        if qualifier != "$LATEST" {
            self.resolve_version(region, name, Some(&qualifier))?;
        }
        match req.method {
            Method::GET => {
                let c = meta.invoke_configs.get(&qualifier).ok_or_else(|| {
                    LambdaError::NotFound(format!(
                        "The function {}:{qualifier} doesn't have an EventInvokeConfig",
                        function_arn(region, name)
                    ))
                })?;
                ok(
                    StatusCode::OK,
                    &invoke_config_out(region, name, &qualifier, c),
                )
            }
            Method::PUT | Method::POST => {
                let body = body_json(req)?;
                let mut c = parse_invoke_config(&body)?;
                if req.method == Method::POST {
                    let mut merged = meta
                        .invoke_configs
                        .get(&qualifier)
                        .cloned()
                        .unwrap_or(json!({}));
                    if let (Some(m), Some(new)) = (merged.as_object_mut(), c.as_object()) {
                        for (k, v) in new {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                    c = merged;
                }
                c["LastModified"] = json!(wire::time::now_ms() as f64 / 1000.0);
                meta.invoke_configs.insert(qualifier.clone(), c.clone());
                self.save_meta(region, name, &meta)?;
                ok(
                    StatusCode::OK,
                    &invoke_config_out(region, name, &qualifier, &c),
                )
            }
            Method::DELETE => {
                if meta.invoke_configs.remove(&qualifier).is_none() {
                    return Err(LambdaError::NotFound(format!(
                        "The function {}:{qualifier} doesn't have an EventInvokeConfig",
                        function_arn(region, name)
                    )));
                }
                self.save_meta(region, name, &meta)?;
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(not_implemented(req)),
        }
    }

    /// The event invoke config that applies to an invocation of `qualifier`.
    pub(crate) fn invoke_config_for(
        &self,
        region: &str,
        name: &str,
        qualifier: &str,
    ) -> Option<Value> {
        let meta = self.meta(region, name).ok()?;
        meta.invoke_configs.get(qualifier).cloned()
    }

    async fn tags(&self, req: &ApiRequest, arn: &str) -> Result<ApiResponse> {
        let fref = parse_function_ref(arn, "resource")?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.meta(region, name)?;
        match req.method {
            Method::GET => ok(StatusCode::OK, &json!({ "Tags": meta.tags })),
            Method::POST => {
                let body = body_json(req)?;
                merge_tags(&mut meta.tags, &body)?;
                self.save_meta(region, name, &meta)?;
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            Method::DELETE => {
                for (k, v) in &req.query {
                    if k == "tagKeys" {
                        meta.tags.remove(v);
                    }
                }
                self.save_meta(region, name, &meta)?;
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            _ => Err(not_implemented(req)),
        }
    }

    fn account_settings(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let mut count = 0u64;
        let mut code = 0u64;
        let mut reserved = 0u64;
        for (region, name) in self.inner.store.all_functions()? {
            if region != req.region {
                continue;
            }
            count += 1;
            if let Ok(m) = self.meta(&region, &name) {
                reserved += m.reserved_concurrency.unwrap_or(0) as u64;
            }
            for (_, c) in self.inner.store.versions(&region, &name)? {
                if let Ok(r) = serde_json::from_str::<VersionRecord>(&c) {
                    code += r.config["CodeSize"].as_u64().unwrap_or(0);
                }
            }
        }
        let limit = self.inner.cfg.account_concurrency as u64;
        ok(
            StatusCode::OK,
            &json!({
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800u64,
                    "CodeSizeUnzipped": self.inner.cfg.unpack_limits.unzipped_bytes_max,
                    "CodeSizeZipped": ZIP_BYTES_MAX,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit.saturating_sub(reserved),
                },
                "AccountUsage": { "TotalCodeSize": code, "FunctionCount": count },
            }),
        )
    }

    async fn route(&self, req: ApiRequest) -> Result<ApiResponse> {
        let seg = req.segments();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let m = req.method.clone();
        let fref = |s: &str| -> Result<FunctionRef> {
            let mut f = parse_function_ref(s, "functionName")?;
            if let Some(q) = req.query_param("Qualifier") {
                if !q.is_empty() {
                    if f.qualifier.as_deref().is_some_and(|fq| fq != q) {
                        return Err(LambdaError::InvalidParameter(
                            "The derived qualifier from the function name does not match the specified qualifier.".into(),
                        ));
                    }
                    f.qualifier = Some(q.to_string());
                }
            }
            Ok(f)
        };
        match (m, seg.as_slice()) {
            (Method::POST, ["2015-03-31", "functions"] | ["2015-03-31", "functions", ""]) => {
                self.create_function(&req).await
            }
            (Method::GET, ["2015-03-31", "functions"] | ["2015-03-31", "functions", ""]) => {
                self.list_functions(&req)
            }
            (Method::GET, ["2015-03-31", "functions", f]) => self.get_function(&req, &fref(f)?),
            (Method::DELETE, ["2015-03-31", "functions", f]) => {
                self.delete_function(&req, &fref(f)?).await
            }
            (Method::GET, ["2015-03-31", "functions", f, "configuration"]) => {
                let f = fref(f)?;
                let (_, rec) =
                    self.resolve_version(&req.region, &f.name, f.qualifier.as_deref())?;
                ok(StatusCode::OK, &rec.config)
            }
            (Method::PUT, ["2015-03-31", "functions", f, "configuration"]) => {
                self.update_configuration(&req, &fref(f)?).await
            }
            (Method::PUT, ["2015-03-31", "functions", f, "code"]) => {
                self.update_code(&req, &fref(f)?).await
            }
            (Method::POST, ["2015-03-31", "functions", f, "invocations"]) => {
                let f = fref(f)?;
                self.invoke(&req, &f).await
            }
            (Method::POST, ["2015-03-31", "functions", f, "versions"]) => {
                self.publish_version(&req, &fref(f)?).await
            }
            (Method::GET, ["2015-03-31", "functions", f, "versions"]) => {
                self.list_versions(&req, &fref(f)?)
            }
            (Method::POST, ["2015-03-31", "functions", f, "aliases"]) => {
                self.create_alias(&req, &fref(f)?).await
            }
            (Method::GET, ["2015-03-31", "functions", f, "aliases"]) => {
                self.list_aliases(&req, &fref(f)?)
            }
            (_, ["2015-03-31", "functions", f, "aliases", a]) => {
                let a = a.to_string();
                self.alias_op(&req, &fref(f)?, &a).await
            }
            (_, ["2017-10-31" | "2019-09-30", "functions", f, "concurrency"]) => {
                self.concurrency(&req, &fref(f)?).await
            }
            (_, ["2019-09-25", "functions", f, "event-invoke-config"]) => {
                self.invoke_config(&req, &fref(f)?, false).await
            }
            (Method::GET, ["2019-09-25", "functions", f, "event-invoke-config", "list"]) => {
                self.invoke_config(&req, &fref(f)?, true).await
            }
            (Method::POST, ["2021-10-31", "functions", f, "url"]) => {
                self.create_url_config(&req, &fref(f)?).await
            }
            (Method::GET, ["2021-10-31", "functions", f, "url"]) => {
                self.get_url_config(&req, &fref(f)?)
            }
            (Method::PUT, ["2021-10-31", "functions", f, "url"]) => {
                self.update_url_config(&req, &fref(f)?).await
            }
            (Method::DELETE, ["2021-10-31", "functions", f, "url"]) => {
                self.delete_url_config(&req, &fref(f)?).await
            }
            (Method::GET, ["2021-10-31", "functions", f, "urls"]) => {
                self.list_url_configs(&req, &fref(f)?)
            }
            (_, ["2017-03-31", "tags", arn]) => {
                let arn = arn.to_string();
                self.tags(&req, &arn).await
            }
            (
                Method::GET,
                ["2016-08-19", "account-settings"] | ["2016-08-19", "account-settings", ""],
            ) => self.account_settings(&req),
            _ => Err(not_implemented(&req)),
        }
    }
}

fn not_implemented(req: &ApiRequest) -> LambdaError {
    LambdaError::NotImplemented(format!(
        "Eddy does not implement {} {} of the Lambda API yet",
        req.method, req.path
    ))
}

fn check_revision(body: &Value, config: &Value) -> Result<()> {
    if let Some(r) = body["RevisionId"].as_str() {
        if config["RevisionId"] != r {
            return Err(LambdaError::PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            ));
        }
    }
    Ok(())
}

/// Marks `$LATEST` changed.
fn touch(config: &mut Value) {
    config["LastModified"] = json!(wire::time::lambda_timestamp(wire::time::now_ms()));
    config["RevisionId"] = json!(wire::id::uuid4());
    config["LastUpdateStatus"] = json!("Successful");
    config["State"] = json!("Active");
}

fn invoke_config_out(region: &str, name: &str, qualifier: &str, c: &Value) -> Value {
    let mut out = c.clone();
    out["FunctionArn"] = json!(format!("{}:{qualifier}", function_arn(region, name)));
    out
}

/// The `MaxItems` of a list call (Lambda's default 50, at most 10,000).
fn max_items(req: &ApiRequest) -> Result<usize> {
    match req.query_param("MaxItems") {
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                LambdaError::InvalidParameter("MaxItems must be between 1 and 10000".into())
            }),
        None => Ok(50),
    }
}

/// Marker/MaxItems paging over an in-memory list; the marker is the last key returned.
fn paginate(
    all: Vec<Value>,
    req: &ApiRequest,
    key: impl Fn(&Value) -> String,
) -> Result<(Vec<Value>, Option<String>)> {
    Ok(paginate_max(all, req, max_items(req)?, key))
}

/// [`paginate`] with pages of at most `max`.
fn paginate_max(
    all: Vec<Value>,
    req: &ApiRequest,
    max: usize,
    key: impl Fn(&Value) -> String,
) -> (Vec<Value>, Option<String>) {
    let start = match req.query_param("Marker").filter(|m| !m.is_empty()) {
        Some(m) => all
            .iter()
            .position(|v| key(v) == m)
            .map(|i| i + 1)
            .unwrap_or(all.len()),
        None => 0,
    };
    let rest: Vec<Value> = all.into_iter().skip(start).collect();
    let more = rest.len() > max;
    let page: Vec<Value> = rest.into_iter().take(max).collect();
    let next = if more { page.last().map(&key) } else { None };
    (page, next)
}

impl wire::Service for Lambda {
    fn handle(&self, req: ApiRequest) -> BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            match self.route(req).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        })
    }
}
