//! Function URLs, the control plane: Create, Get, Update, Delete and
//! ListFunctionUrlConfig(s), and the index by URL id that the HTTP data plane looks
//! URLs up in.
//!
//! A URL's record lives in its function's `Meta`, so it is written, and deleted with the
//! function, in the same store calls as the rest of the function. The index is rebuilt
//! from those records at start-up and changed only after a write committed, under the
//! control-plane writer lock.

use crate::error::{LambdaError, Result};
use crate::model::*;
use crate::{body_json, ok, paginate_max, Lambda};
use http::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use wire::{ApiRequest, ApiResponse};

/// What the data plane needs to serve one function URL.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUrl {
    /// The function's ARN, qualified with the alias for an alias's URL.
    pub function_arn: String,
    pub region: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    /// The CORS settings with every field present (`AllowCredentials`, `AllowHeaders`,
    /// `AllowMethods`, `AllowOrigins`, `ExposeHeaders`, `MaxAge`), or `Null` without one.
    pub cors: Value,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
}

/// The index: URL id to URL, for every URL of every function.
pub(crate) type UrlIndex = HashMap<String, FunctionUrl>;

/// Missing function in Create, Update and List (AWS's words).
const NO_FUNCTION: &str = "Function does not exist";
/// Missing function, alias or URL in Get and Delete, and missing URL in Update.
const NO_RESOURCE: &str = "The resource you requested does not exist.";

fn url_arn(region: &str, name: &str, key: &str) -> String {
    let base = function_arn(region, name);
    if key == UNQUALIFIED_URL {
        base
    } else {
        format!("{base}:{key}")
    }
}

fn index_entry(region: &str, name: &str, key: &str, r: &UrlRecord) -> FunctionUrl {
    FunctionUrl {
        function_arn: url_arn(region, name, key),
        region: region.to_string(),
        auth_type: r.auth_type.clone(),
        cors: r.cors.clone().unwrap_or(Value::Null),
        invoke_mode: r.invoke_mode().to_string(),
    }
}

/// Which fields a response shows: Create's, Update's, or Get's and List's.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Create,
    Update,
    Full,
}

impl Lambda {
    /// The function URL with id `url_id`, for the data plane.
    pub fn function_url(&self, url_id: &str) -> Option<FunctionUrl> {
        if !is_url_id(url_id) {
            return None;
        }
        self.inner
            .urls
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(url_id)
            .cloned()
    }

    /// Builds the index from every function's stored URLs (start-up).
    pub(crate) fn load_url_index(
        store: &dyn store::FunctionStore,
    ) -> std::result::Result<UrlIndex, store::StoreError> {
        let mut index = UrlIndex::new();
        for (region, name) in store.all_functions()? {
            let Some(m) = store.function_meta(&region, &name)? else {
                continue;
            };
            let meta: Meta = match serde_json::from_str(&m) {
                Ok(meta) => meta,
                Err(e) => {
                    tracing::error!("function {region}/{name} has a corrupt record: {e}");
                    continue;
                }
            };
            for (key, r) in &meta.urls {
                index.insert(r.url_id.clone(), index_entry(&region, &name, key, r));
            }
        }
        Ok(index)
    }

    /// Replaces a function's entries in the index with the URLs of `meta` (`None`: the
    /// function is gone). Called after the write committed, under the writer lock.
    pub(crate) fn reindex_urls(&self, region: &str, name: &str, meta: Option<&Meta>) {
        let base = function_arn(region, name);
        let qualified = format!("{base}:");
        let mut index = self.inner.urls.write().unwrap_or_else(|p| p.into_inner());
        index.retain(|_, u| u.function_arn != base && !u.function_arn.starts_with(&qualified));
        for (key, r) in meta.map(|m| &m.urls).into_iter().flatten() {
            index.insert(r.url_id.clone(), index_entry(region, name, key, r));
        }
    }

    /// The function's record, or `missing` as the not-found message.
    fn url_meta(&self, region: &str, name: &str, missing: &str) -> Result<Meta> {
        let m = self
            .inner
            .store
            .function_meta(region, name)?
            .ok_or_else(|| LambdaError::NotFound(missing.into()))?;
        serde_json::from_str(&m)
            .map_err(|e| LambdaError::Service(format!("corrupt function record: {e}")))
    }

    /// The key in `Meta::urls` a request names, after checking its qualifier.
    fn url_key(fref: &FunctionRef) -> Result<String> {
        match fref.qualifier.as_deref() {
            None => Ok(UNQUALIFIED_URL.to_string()),
            Some(q) => {
                check_url_qualifier(q)?;
                Ok(q.to_string())
            }
        }
    }

    /// The port function URLs are reached on: the configured public address's, else the
    /// one the client used.
    fn url_port(&self, req: &ApiRequest) -> Option<u16> {
        self.inner
            .cfg
            .public_base
            .as_deref()
            .and_then(port_of)
            .or_else(|| req.header("host").and_then(port_of))
    }

    fn url_out(
        &self,
        req: &ApiRequest,
        name: &str,
        key: &str,
        r: &UrlRecord,
        shape: Shape,
    ) -> Value {
        let region = &req.region;
        let mut out = json!({
            "FunctionUrl": function_url_address(&r.url_id, region, self.url_port(req)),
            "FunctionArn": url_arn(region, name, key),
            "AuthType": r.auth_type,
            "CreationTime": r.creation_time,
        });
        if shape != Shape::Create {
            out["LastModifiedTime"] = json!(r.last_modified_time);
        }
        if let Some(c) = &r.cors {
            out["Cors"] = c.clone();
        }
        match (shape, &r.invoke_mode) {
            (Shape::Full, _) => out["InvokeMode"] = json!(r.invoke_mode()),
            (_, Some(m)) => out["InvokeMode"] = json!(m),
            (_, None) => {}
        }
        out
    }

    /// A URL id no URL has.
    fn fresh_url_id(&self) -> String {
        let index = self.inner.urls.read().unwrap_or_else(|p| p.into_inner());
        loop {
            let id = new_url_id(wire::id::next_u64);
            if !index.contains_key(&id) {
                return id;
            }
        }
    }

    fn save_urls(&self, region: &str, name: &str, meta: &Meta) -> Result<()> {
        self.save_meta(region, name, meta)?;
        self.reindex_urls(region, name, Some(meta));
        Ok(())
    }

    pub(crate) async fn create_url_config(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
    ) -> Result<ApiResponse> {
        let key = Self::url_key(fref)?;
        let input = UrlInput::parse(&body_json(req)?, true)?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.url_meta(region, name, NO_FUNCTION)?;
        if meta.urls.contains_key(&key) {
            return Err(LambdaError::Conflict(format!(
                "Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function",
                url_arn(region, name, &key)
            )));
        }
        if key != UNQUALIFIED_URL && self.alias_record(region, name, &key)?.is_none() {
            return Err(LambdaError::NotFound(NO_FUNCTION.into()));
        }
        let now = url_timestamp(wire::time::now_ms());
        let r = UrlRecord {
            url_id: self.fresh_url_id(),
            auth_type: input.auth_type.unwrap_or_default(),
            cors: input.cors,
            invoke_mode: input.invoke_mode,
            creation_time: now.clone(),
            last_modified_time: now,
        };
        meta.urls.insert(key.clone(), r.clone());
        self.save_urls(region, name, &meta)?;
        ok(
            StatusCode::CREATED,
            &self.url_out(req, name, &key, &r, Shape::Create),
        )
    }

    pub(crate) fn get_url_config(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
    ) -> Result<ApiResponse> {
        let key = Self::url_key(fref)?;
        let meta = self.url_meta(&req.region, &fref.name, NO_RESOURCE)?;
        let r = meta
            .urls
            .get(&key)
            .ok_or_else(|| LambdaError::NotFound(NO_RESOURCE.into()))?;
        ok(
            StatusCode::OK,
            &self.url_out(req, &fref.name, &key, r, Shape::Full),
        )
    }

    pub(crate) async fn update_url_config(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
    ) -> Result<ApiResponse> {
        let key = Self::url_key(fref)?;
        let input = UrlInput::parse(&body_json(req)?, false)?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.url_meta(region, name, NO_FUNCTION)?;
        if key != UNQUALIFIED_URL && self.alias_record(region, name, &key)?.is_none() {
            return Err(LambdaError::NotFound(NO_FUNCTION.into()));
        }
        let r = meta
            .urls
            .get_mut(&key)
            .ok_or_else(|| LambdaError::NotFound(NO_RESOURCE.into()))?;
        if let Some(a) = input.auth_type {
            r.auth_type = a;
        }
        if let Some(c) = input.cors {
            r.cors = Some(c);
        }
        if let Some(m) = input.invoke_mode {
            r.invoke_mode = Some(m);
        }
        r.last_modified_time = url_timestamp(wire::time::now_ms());
        let r = r.clone();
        self.save_urls(region, name, &meta)?;
        ok(
            StatusCode::OK,
            &self.url_out(req, name, &key, &r, Shape::Update),
        )
    }

    pub(crate) async fn delete_url_config(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
    ) -> Result<ApiResponse> {
        let key = Self::url_key(fref)?;
        let region = &req.region;
        let name = &fref.name;
        let _w = self.inner.writes.lock().await;
        let mut meta = self.url_meta(region, name, NO_RESOURCE)?;
        if meta.urls.remove(&key).is_none() {
            return Err(LambdaError::NotFound(NO_RESOURCE.into()));
        }
        self.save_urls(region, name, &meta)?;
        Ok(wire::empty_response(StatusCode::NO_CONTENT))
    }

    pub(crate) fn list_url_configs(
        &self,
        req: &ApiRequest,
        fref: &FunctionRef,
    ) -> Result<ApiResponse> {
        let max = url_list_max_items(req.query_param("MaxItems"))?;
        let meta = self.url_meta(&req.region, &fref.name, NO_FUNCTION)?;
        let all: Vec<Value> = meta
            .urls
            .iter()
            .map(|(key, r)| self.url_out(req, &fref.name, key, r, Shape::Full))
            .collect();
        let (page, next) = paginate_max(all, req, max, |u| {
            u["FunctionArn"].as_str().unwrap_or("").to_string()
        });
        let mut out = json!({ "FunctionUrlConfigs": page });
        if let Some(n) = next {
            out["NextMarker"] = json!(n);
        }
        ok(StatusCode::OK, &out)
    }
}
