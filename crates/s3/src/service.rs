//! The S3 operations: buckets, objects, listing, tagging, notifications. Data streams
//! into blobs; metadata and the notifications a write causes commit in one transaction.

use crate::checksum::{self, ChecksumAlgorithm};
use crate::error::{Result, S3Error};
use crate::intake::{self, Intake};
use crate::list::{self, ListParams, Lister, Step};
use crate::names;
use crate::router::{self, Endpoint};
use crate::xml::{self, XmlWriter};
use http::{HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use store::{BlobStore, BucketRecord, NewEntry, ObjectRecord, ObjectStore};
use wire::{ApiRequest, ApiResponse};

/// S3 settings.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The largest single PUT (S3's 5 GiB).
    pub put_bytes_max: u64,
    /// The largest request body of XML operations.
    pub xml_bytes_max: usize,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            put_bytes_max: 5 * 1024 * 1024 * 1024,
            xml_bytes_max: 2 * 1024 * 1024,
        }
    }
}

/// The S3 API.
#[derive(Clone)]
pub struct S3 {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn ObjectStore>,
    /// To check that notification destinations exist.
    pub functions: Arc<dyn store::FunctionStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub delivery: delivery::Delivery,
    pub cfg: S3Config,
}

/// What an object carries besides its data, stored as JSON in its record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    /// Content headers by lower-case name (content-type, cache-control, ...).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `x-amz-meta-*` by lower-case name without the prefix.
    #[serde(default)]
    pub user: BTreeMap<String, String>,
    /// Algorithm name, base64 value, and `FULL_OBJECT` or `COMPOSITE`.
    #[serde(default)]
    pub checksum: Option<(String, String, String)>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub parts: Option<u32>,
    /// Sizes of the parts of a multipart object, for reads by part number.
    #[serde(default)]
    pub part_sizes: Vec<u64>,
    /// The parts' own checksums (base64), when every part had one.
    #[serde(default)]
    pub part_checksums: Vec<String>,
    /// The multipart upload that created the object, so a repeated completion answers
    /// as the first did.
    #[serde(default)]
    pub upload_id: Option<String>,
}

/// Headers kept with an object and sent back with it.
const CONTENT_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-language",
    "content-disposition",
    "cache-control",
    "expires",
    "x-amz-storage-class",
    "x-amz-website-redirect-location",
];

/// The bucket's own settings, stored as JSON in its record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct BucketConfig {
    /// The NotificationConfiguration document as accepted (validated).
    #[serde(default)]
    pub notification: Option<String>,
}

pub(crate) fn blob_key() -> String {
    let id = wire::id::hex_id(32);
    format!("objects/{}/{}", &id[..2], id)
}

fn xml_response(status: StatusCode, body: String) -> ApiResponse {
    wire::response(status, "application/xml", body)
}

pub(crate) fn set(r: &mut ApiResponse, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        http::HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        r.headers_mut().insert(n, v);
    }
}

/// The event S3 puts on the default bus of the bucket's region when the bucket sends its
/// notifications to EventBridge: names and fields as S3 writes them (the key is not
/// URL-encoded here, unlike in notification records).
fn eventbridge_entry(
    bucket: &BucketRecord,
    event: &str,
    object: &ObjectRecord,
    request_id: &str,
) -> NewEntry {
    let created = event.starts_with("ObjectCreated");
    let mut obj = serde_json::json!({
        "key": object.key,
        "sequencer": format!("{:016X}", object.seq),
    });
    if created {
        obj["size"] = serde_json::json!(object.size);
        obj["etag"] = serde_json::json!(object.etag.trim_matches('"'));
    }
    let reason = match event {
        "ObjectCreated:Put" => "PutObject",
        "ObjectCreated:Copy" => "CopyObject",
        "ObjectCreated:CompleteMultipartUpload" => "CompleteMultipartUpload",
        _ => "DeleteObject",
    };
    let mut detail = serde_json::json!({
        "version": "0",
        "bucket": { "name": bucket.name },
        "object": obj,
        "request-id": request_id,
        "requester": wire::ACCOUNT_ID,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    });
    if !created {
        detail["deletion-type"] = serde_json::json!("Permanently Deleted");
    }
    let envelope = delivery::events::envelope(
        &bucket.region,
        "aws.s3",
        if created {
            "Object Created"
        } else {
            "Object Deleted"
        },
        detail,
        serde_json::json!([format!("arn:aws:s3:::{}", bucket.name)]),
        &wire::time::iso8601(wire::time::now_ms()),
    );
    let bus = format!(
        "arn:aws:events:{}:{}:event-bus/default",
        bucket.region,
        wire::ACCOUNT_ID
    );
    delivery::events::put_entry(&bus, &envelope)
}

/// S3's event-record form of a key: URL-encoded, spaces as `+`.
fn event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn xml_err(e: xml::XmlError) -> S3Error {
    let status = StatusCode::BAD_REQUEST;
    S3Error::new(status, e.code(), e.to_string())
}

impl S3 {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        functions: Arc<dyn store::FunctionStore>,
        blobs: Arc<dyn BlobStore>,
        delivery: delivery::Delivery,
        cfg: S3Config,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                functions,
                blobs,
                delivery,
                cfg,
            }),
        }
    }

    pub(crate) fn bucket(&self, name: &str) -> Result<BucketRecord> {
        self.inner
            .store
            .bucket(name)?
            .ok_or_else(|| S3Error::no_such_bucket(name))
    }

    /// The notification entries an event on `object` causes.
    /// The bucket's notification configuration, parsed once per write before the
    /// transaction that stores the object and its notifications.
    pub(crate) fn notification_config(
        bucket: &BucketRecord,
    ) -> Option<xml::NotificationConfiguration> {
        let cfg: BucketConfig = serde_json::from_str(&bucket.config).unwrap_or_default();
        xml::parse_notification(cfg.notification?.as_bytes()).ok()
    }

    pub(crate) fn notifications(
        config: Option<&xml::NotificationConfiguration>,
        bucket: &BucketRecord,
        event: &str,
        object: &ObjectRecord,
        request_id: &str,
    ) -> Vec<NewEntry> {
        let Some(n) = config else {
            return vec![];
        };
        let full_event = format!("s3:{event}");
        let mut out = Vec::new();
        let kinds = n
            .lambda
            .iter()
            .map(|t| (t, true))
            .chain(n.queue.iter().chain(&n.topic).map(|t| (t, false)));
        for (t, function) in kinds {
            if !t.matches(&full_event, &object.key) {
                continue;
            }
            let mut obj = serde_json::json!({
                "key": event_key(&object.key),
                "sequencer": format!("{:016X}", object.seq),
            });
            if event.starts_with("ObjectCreated") {
                obj["size"] = serde_json::json!(object.size);
                obj["eTag"] = serde_json::json!(object.etag.trim_matches('"'));
            }
            let record = serde_json::json!({ "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": bucket.region,
                "eventTime": wire::time::iso8601_ms(wire::time::now_ms()),
                "eventName": event,
                "userIdentity": { "principalId": "AWS:000000000000" },
                "requestParameters": { "sourceIPAddress": "127.0.0.1" },
                "responseElements": {
                    "x-amz-request-id": request_id,
                    "x-amz-id-2": request_id,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": t.id.clone().unwrap_or_default(),
                    "bucket": {
                        "name": bucket.name,
                        "ownerIdentity": { "principalId": "000000000000" },
                        "arn": format!("arn:aws:s3:::{}", bucket.name),
                    },
                    "object": obj,
                },
            }]});
            let payload = record.to_string().into_bytes();
            if function {
                out.push(lambda::async_invoke_entry(
                    &t.arn,
                    payload,
                    &wire::id::uuid4(),
                ));
            } else {
                // Queues get the record as the message body; topics publish it.
                out.extend(delivery::events::message_entry(
                    &t.arn,
                    payload,
                    serde_json::json!({}),
                ));
            }
        }
        if n.eventbridge {
            out.push(eventbridge_entry(bucket, event, object, request_id));
        }
        out
    }

    async fn dispatch(&self, req: &mut ApiRequest) -> Result<ApiResponse> {
        let endpoint = router::route(req)?;
        // Bodies other than uploads are XML documents; the edge bounds what it reads,
        // S3 bounds them tighter.
        if req.body.len() > self.inner.cfg.xml_bytes_max {
            return Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "MaxMessageLengthExceeded",
                "Your request was too big.",
            ));
        }
        match endpoint {
            Endpoint::ListBuckets => self.list_buckets(req),
            Endpoint::CreateBucket { bucket } => self.create_bucket(req, &bucket),
            Endpoint::DeleteBucket { bucket } => self.delete_bucket(&bucket),
            Endpoint::HeadBucket { bucket } => {
                let b = self.bucket(&bucket)?;
                let mut r = wire::empty_response(StatusCode::OK);
                set(&mut r, "x-amz-bucket-region", &b.region);
                Ok(r)
            }
            Endpoint::GetBucketLocation { bucket } => {
                let b = self.bucket(&bucket)?;
                // us-east-1 is reported as an empty constraint, as S3 does.
                let loc = if b.region == "us-east-1" {
                    ""
                } else {
                    b.region.as_str()
                };
                let mut w = XmlWriter::new();
                w.elem("LocationConstraint", loc);
                Ok(xml_response(StatusCode::OK, w.finish()))
            }
            Endpoint::ListObjects { bucket, v2 } => self.list_objects(req, &bucket, v2),
            Endpoint::ListObjectVersions { bucket } => self.list_versions(req, &bucket),
            Endpoint::DeleteObjects { bucket } => self.delete_objects(req, &bucket).await,
            Endpoint::GetBucketNotification { bucket } => {
                let b = self.bucket(&bucket)?;
                let n = S3::notification_config(&b).unwrap_or_default();
                Ok(xml_response(StatusCode::OK, xml::notification_document(&n)))
            }
            Endpoint::PutBucketNotification { bucket } => {
                let b = self.bucket(&bucket)?;
                let mut n = xml::parse_notification(&req.body).map_err(xml_err)?;
                xml::validate_notification(&n).map_err(xml_err)?;
                for t in &n.lambda {
                    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
                    let parts: Vec<&str> = t.arn.split(':').collect();
                    let exists = parts.len() >= 7
                        && parts[2] == "lambda"
                        && parts[5] == "function"
                        && self
                            .inner
                            .functions
                            .function_meta(parts[3], parts[6])?
                            .is_some();
                    if !exists {
                        return Err(S3Error::invalid_argument(format!(
                            "Unable to validate the following destination configurations: {}",
                            t.arn
                        )));
                    }
                }
                // S3 names configurations that came without an Id.
                for t in n
                    .lambda
                    .iter_mut()
                    .chain(n.queue.iter_mut())
                    .chain(n.topic.iter_mut())
                {
                    if t.id.as_deref().is_none_or(str::is_empty) {
                        t.id = Some(wire::id::uuid4());
                    }
                }
                let mut cfg: BucketConfig = serde_json::from_str(&b.config).unwrap_or_default();
                cfg.notification = Some(xml::notification_document(&n));
                self.inner
                    .store
                    .set_bucket_config(&bucket, &serde_json::to_string(&cfg).unwrap_or_default())?;
                // S3 tells each queue and topic it was configured with a test event.
                let test = serde_json::json!({
                    "Service": "Amazon S3",
                    "Event": "s3:TestEvent",
                    "Time": wire::time::iso8601_ms(wire::time::now_ms()),
                    "Bucket": bucket,
                    "RequestId": req.request_id,
                    "HostId": req.request_id,
                });
                let test = test.to_string().into_bytes();
                for t in n.queue.iter().chain(&n.topic) {
                    if let Some(e) =
                        delivery::events::message_entry(&t.arn, test.clone(), serde_json::json!({}))
                    {
                        self.inner.delivery.enqueue(e).await?;
                    }
                }
                Ok(wire::empty_response(StatusCode::OK))
            }
            Endpoint::PutObject { bucket, key } => self.put_object(req, &bucket, &key).await,
            Endpoint::CopyObject { bucket, key } => self.copy_object(req, &bucket, &key).await,
            Endpoint::GetObject { bucket, key } => self.get_object(req, &bucket, &key, false),
            Endpoint::HeadObject { bucket, key } => self.get_object(req, &bucket, &key, true),
            Endpoint::GetObjectAttributes { bucket, key } => {
                self.bucket(&bucket)?;
                let o = self.object(&bucket, &key)?;
                let meta: ObjectMeta = serde_json::from_str(&o.meta).unwrap_or_default();
                let wanted = req
                    .header("x-amz-object-attributes")
                    .unwrap_or("")
                    .to_string();
                let want = |a: &str| wanted.split(',').any(|w| w.trim().eq_ignore_ascii_case(a));
                let mut w = XmlWriter::new();
                w.open("GetObjectAttributesResponse");
                if want("ETag") {
                    w.elem("ETag", o.etag.trim_matches('"'));
                }
                if want("Checksum") {
                    if let Some((alg, value, kind)) = &meta.checksum {
                        if let Some(a) = ChecksumAlgorithm::parse(alg) {
                            w.open("Checksum")
                                .elem(a.xml_element(), value)
                                .elem("ChecksumType", kind)
                                .close();
                        }
                    }
                }
                if want("ObjectParts") {
                    if let Some(n) = meta.parts {
                        w.open("ObjectParts")
                            .elem("TotalPartsCount", &n.to_string())
                            .close();
                    }
                }
                if want("StorageClass") {
                    w.elem("StorageClass", "STANDARD");
                }
                if want("ObjectSize") {
                    w.elem("ObjectSize", &o.size.to_string());
                }
                w.close();
                let mut r = xml_response(StatusCode::OK, w.finish());
                set(
                    &mut r,
                    "last-modified",
                    &wire::time::http_date(o.last_modified_ms),
                );
                Ok(r)
            }
            Endpoint::DeleteObject { bucket, key } => {
                let b = self.bucket(&bucket)?;
                self.delete_one(&b, &key, &req.request_id)?;
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            Endpoint::GetObjectTagging { bucket, key } => {
                self.bucket(&bucket)?;
                let o = self.object(&bucket, &key)?;
                let meta: ObjectMeta = serde_json::from_str(&o.meta).unwrap_or_default();
                let mut w = XmlWriter::new();
                w.open("Tagging").open("TagSet");
                for (k, v) in &meta.tags {
                    w.open("Tag").elem("Key", k).elem("Value", v).close();
                }
                w.close().close();
                Ok(xml_response(StatusCode::OK, w.finish()))
            }
            Endpoint::PutObjectTagging { bucket, key } => {
                self.bucket(&bucket)?;
                let tags =
                    xml::parse_tagging(&req.body, xml::TagTarget::Object).map_err(xml_err)?;
                self.update_meta(&bucket, &key, |m| m.tags = tags.clone())?;
                Ok(wire::empty_response(StatusCode::OK))
            }
            Endpoint::DeleteObjectTagging { bucket, key } => {
                self.bucket(&bucket)?;
                self.update_meta(&bucket, &key, |m| m.tags.clear())?;
                Ok(wire::empty_response(StatusCode::NO_CONTENT))
            }
            Endpoint::CreateMultipartUpload { bucket, key } => {
                self.create_multipart(req, &bucket, &key)
            }
            Endpoint::UploadPart {
                bucket,
                key,
                upload_id,
                part,
            } => {
                self.upload_part(req, &bucket, &key, &upload_id, &part)
                    .await
            }
            Endpoint::UploadPartCopy {
                bucket,
                key,
                upload_id,
                part,
            } => {
                self.upload_part_copy(req, &bucket, &key, &upload_id, &part)
                    .await
            }
            Endpoint::CompleteMultipartUpload {
                bucket,
                key,
                upload_id,
            } => {
                self.complete_multipart(req, &bucket, &key, &upload_id)
                    .await
            }
            Endpoint::AbortMultipartUpload {
                bucket,
                key,
                upload_id,
            } => self.abort_multipart(&bucket, &key, &upload_id).await,
            Endpoint::ListParts {
                bucket,
                key,
                upload_id,
            } => self.list_parts(req, &bucket, &key, &upload_id),
            Endpoint::ListMultipartUploads { bucket } => self.list_uploads(req, &bucket),
            Endpoint::Unsupported(what) => Err(S3Error::not_implemented(&what)),
        }
    }

    fn list_buckets(&self, _req: &ApiRequest) -> Result<ApiResponse> {
        let mut w = XmlWriter::new();
        w.open("ListAllMyBucketsResult");
        w.open("Owner")
            .elem("ID", wire::ACCOUNT_ID)
            .elem("DisplayName", "eddy")
            .close();
        w.open("Buckets");
        for b in self.inner.store.buckets()? {
            w.open("Bucket")
                .elem("Name", &b.name)
                .elem("CreationDate", &wire::time::iso8601_ms(b.created_ms))
                .elem("BucketRegion", &b.region)
                .close();
        }
        w.close().close();
        Ok(xml_response(StatusCode::OK, w.finish()))
    }

    fn create_bucket(&self, req: &ApiRequest, name: &str) -> Result<ApiResponse> {
        names::check_bucket_name(name).map_err(|e| {
            S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()).with_resource(name)
        })?;
        let constraint = xml::parse_create_bucket(&req.body).map_err(xml_err)?;
        let region = constraint
            .clone()
            .unwrap_or_else(|| "us-east-1".to_string());
        if constraint.as_deref() == Some("us-east-1") {
            return Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
            ));
        }
        if region != req.region && !(req.region == "us-east-1" && constraint.is_some()) {
            return Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "IllegalLocationConstraintException",
                format!(
                    "The {} location constraint is incompatible for the region specific endpoint this request was sent to.",
                    region
                ),
            ));
        }
        let rec = BucketRecord {
            name: name.to_string(),
            region,
            created_ms: wire::time::now_ms(),
            config: "{}".into(),
        };
        match self.inner.store.create_bucket(&rec) {
            Ok(()) => {}
            // us-east-1 keeps S3's legacy answer: creating a bucket you own succeeds.
            Err(store::StoreError::Conflict) if rec.region == "us-east-1" => {}
            Err(store::StoreError::Conflict) => {
                return Err(S3Error::new(
                    StatusCode::CONFLICT,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                )
                .with_resource(name))
            }
            Err(e) => return Err(e.into()),
        }
        let mut r = wire::empty_response(StatusCode::OK);
        set(&mut r, "location", &format!("/{name}"));
        Ok(r)
    }

    fn delete_bucket(&self, name: &str) -> Result<ApiResponse> {
        match self.inner.store.delete_bucket(name)? {
            store::DeleteBucket::Deleted => Ok(wire::empty_response(StatusCode::NO_CONTENT)),
            store::DeleteBucket::NotFound => Err(S3Error::no_such_bucket(name)),
            store::DeleteBucket::NotEmpty => Err(S3Error::new(
                StatusCode::CONFLICT,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
            )
            .with_resource(name)),
        }
    }

    pub(crate) fn object(&self, bucket: &str, key: &str) -> Result<ObjectRecord> {
        self.inner
            .store
            .object(bucket, key)?
            .ok_or_else(|| S3Error::no_such_key(key))
    }

    fn update_meta(&self, bucket: &str, key: &str, f: impl Fn(&mut ObjectMeta)) -> Result<()> {
        let mut o = self.object(bucket, key)?;
        let mut meta: ObjectMeta = serde_json::from_str(&o.meta).unwrap_or_default();
        f(&mut meta);
        o.meta = serde_json::to_string(&meta).unwrap_or_default();
        self.inner
            .store
            .put_object(&o, &|_| vec![], wire::time::now_ms())?;
        Ok(())
    }

    /// Metadata from a PUT's or multipart upload's headers.
    pub(crate) fn meta_from_headers(req: &ApiRequest) -> Result<ObjectMeta> {
        let mut meta = ObjectMeta::default();
        for h in CONTENT_HEADERS {
            if let Some(v) = req.header(h) {
                let v = if *h == "content-encoding" {
                    // aws-chunked is how the body travelled, not how the object is encoded.
                    v.split(',')
                        .map(str::trim)
                        .filter(|p| *p != "aws-chunked" && !p.is_empty())
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    v.to_string()
                };
                if !v.is_empty() {
                    meta.headers.insert(h.to_string(), v);
                }
            }
        }
        let mut user_size = 0;
        for (name, value) in req.headers.iter() {
            if let Some(k) = name.as_str().strip_prefix("x-amz-meta-") {
                let v = value.to_str().unwrap_or("").to_string();
                user_size += k.len() + v.len();
                meta.user.insert(k.to_string(), v);
            }
        }
        if user_size > 2048 {
            return Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "MetadataTooLarge",
                "Your metadata headers exceed the maximum allowed metadata size",
            ));
        }
        if let Some(t) = req.header("x-amz-tagging") {
            let tags: Vec<(String, String)> = wire::parse_query(t)
                .into_iter()
                .map(|(k, v)| (k.replace('+', " "), v.replace('+', " ")))
                .collect();
            xml::check_tags(&tags, xml::TagTarget::Object).map_err(xml_err)?;
            meta.tags = tags;
        }
        Ok(meta)
    }

    /// Stores an object whose data is in `intake`, with its notifications, and deletes
    /// the blob it replaces.
    pub(crate) async fn store_object(
        &self,
        bucket: &BucketRecord,
        key: &str,
        intake: Intake,
        mut meta: ObjectMeta,
        event: &str,
        request_id: &str,
    ) -> Result<ObjectRecord> {
        let etag = checksum::etag_of(&intake.digests.md5);
        if let Some((alg, value)) = intake
            .declared_checksum
            .clone()
            .or(intake.digests.checksum.clone())
        {
            meta.checksum = Some((alg.name().to_string(), value, "FULL_OBJECT".into()));
        }
        let key_blob = blob_key();
        let blob = intake.blob;
        let kb = key_blob.clone();
        tokio::task::spawn_blocking(move || blob.commit(&kb))
            .await
            .map_err(S3Error::internal)??;
        let rec = ObjectRecord {
            bucket: bucket.name.clone(),
            key: key.to_string(),
            blob: key_blob.clone(),
            size: intake.len as i64,
            etag,
            last_modified_ms: wire::time::now_ms(),
            meta: serde_json::to_string(&meta).unwrap_or_default(),
            seq: 0,
        };
        self.commit_record(bucket, rec, event, request_id).await
    }

    pub(crate) async fn commit_record(
        &self,
        bucket: &BucketRecord,
        rec: ObjectRecord,
        event: &str,
        request_id: &str,
    ) -> Result<ObjectRecord> {
        let store = self.inner.store.clone();
        let b = bucket.clone();
        let config = S3::notification_config(bucket);
        let ev = event.to_string();
        let rid = request_id.to_string();
        let blob = rec.blob.clone();
        let result = tokio::task::spawn_blocking(move || {
            store.put_object(
                &rec,
                &|stored| S3::notifications(config.as_ref(), &b, &ev, stored, &rid),
                wire::time::now_ms(),
            )
        })
        .await
        .map_err(S3Error::internal)?;
        let (stored, replaced) = match result {
            Ok(x) => x,
            Err(e) => {
                let _ = self.inner.blobs.delete(&blob);
                return Err(e.into());
            }
        };
        self.inner.delivery.wake();
        if let Some(old) = replaced {
            let _ = self.inner.blobs.delete(&old);
        }
        Ok(stored)
    }

    async fn put_object(
        &self,
        req: &mut ApiRequest,
        bucket: &str,
        key: &str,
    ) -> Result<ApiResponse> {
        let b = self.bucket(bucket)?;
        names::check_object_key(key).map_err(|e| {
            S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()).with_resource(key)
        })?;
        let meta = Self::meta_from_headers(req)?;
        if req.header("if-none-match").is_some() || req.header("if-match").is_some() {
            check_write_conditions(req, self.inner.store.object(bucket, key)?.as_ref())?;
        }
        let intake =
            intake::receive(req, self.inner.blobs.as_ref(), self.inner.cfg.put_bytes_max).await?;
        let checksum = intake
            .declared_checksum
            .clone()
            .or(intake.digests.checksum.clone());
        let stored = self
            .store_object(&b, key, intake, meta, "ObjectCreated:Put", &req.request_id)
            .await?;
        let mut r = wire::empty_response(StatusCode::OK);
        set(&mut r, "etag", &stored.etag);
        if let Some((alg, value)) = checksum {
            set(&mut r, alg.header_name(), &value);
            set(&mut r, "x-amz-checksum-type", "FULL_OBJECT");
        }
        Ok(r)
    }

    /// The source of a copy: (bucket, key) from `x-amz-copy-source`.
    pub(crate) fn copy_source(req: &ApiRequest) -> Result<(String, String)> {
        let raw = req.header("x-amz-copy-source").unwrap_or("");
        let raw = raw.split_once("?versionId=").map_or(raw, |(s, _)| s);
        let decoded = wire::percent_decode(raw.trim_start_matches('/'));
        match decoded.split_once('/') {
            Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_string(), k.to_string())),
            _ => Err(S3Error::invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )),
        }
    }

    /// Reads a whole source object (or a byte range of it) into a new blob.
    pub(crate) async fn copy_blob(
        &self,
        src: &ObjectRecord,
        range: Option<(u64, u64)>,
    ) -> Result<(Box<dyn store::BlobWrite>, checksum::Digests, u64)> {
        let file = self
            .inner
            .blobs
            .open(&src.blob)?
            .ok_or_else(|| S3Error::internal(format!("blob {} is missing", src.blob)))?;
        let mut w = self.inner.blobs.writer()?;
        let (start, end) = range.unwrap_or((0, src.size.max(0) as u64));
        let result = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            use std::os::unix::fs::FileExt;
            let mut hasher = checksum::Hasher::new(false, None);
            let mut buf = vec![0u8; 256 * 1024];
            let mut off = start;
            while off < end {
                let n = ((end - off) as usize).min(buf.len());
                file.read_exact_at(&mut buf[..n], off)?;
                hasher.update(&buf[..n]);
                w.write(&buf[..n])?;
                off += n as u64;
            }
            Ok((w, hasher.finish(), end - start))
        })
        .await
        .map_err(S3Error::internal)??;
        Ok(result)
    }

    async fn copy_object(
        &self,
        req: &mut ApiRequest,
        bucket: &str,
        key: &str,
    ) -> Result<ApiResponse> {
        let b = self.bucket(bucket)?;
        names::check_object_key(key)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
        let (sb, sk) = Self::copy_source(req)?;
        self.bucket(&sb)?;
        let src = self.object(&sb, &sk)?;
        check_conditions(req, &src, "x-amz-copy-source-if-")?;
        let replace = req
            .header("x-amz-metadata-directive")
            .map(|d| d.eq_ignore_ascii_case("REPLACE"))
            .unwrap_or(false);
        let replace_tags = req
            .header("x-amz-tagging-directive")
            .map(|d| d.eq_ignore_ascii_case("REPLACE"))
            .unwrap_or(false);
        if sb == bucket && sk == key && !replace {
            return Err(S3Error::invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
            ));
        }
        let src_meta: ObjectMeta = serde_json::from_str(&src.meta).unwrap_or_default();
        let mut meta = if replace {
            Self::meta_from_headers(req)?
        } else {
            src_meta.clone()
        };
        if !replace_tags {
            meta.tags = src_meta.tags.clone();
        } else if replace {
            // Tags from x-amz-tagging were read with the other headers.
        } else {
            meta.tags = Self::meta_from_headers(req)?.tags;
        }
        meta.parts = None;
        let (blob, digests, len) = self.copy_blob(&src, None).await?;
        let intake = Intake {
            blob,
            digests,
            len,
            declared_checksum: None,
        };
        if let Some((alg, value, kind)) = &src_meta.checksum {
            if kind == "FULL_OBJECT" {
                meta.checksum = Some((alg.clone(), value.clone(), kind.clone()));
            }
        }
        let stored = self
            .store_object(&b, key, intake, meta, "ObjectCreated:Copy", &req.request_id)
            .await?;
        let mut w = XmlWriter::new();
        w.open("CopyObjectResult")
            .elem(
                "LastModified",
                &wire::time::iso8601_ms(stored.last_modified_ms),
            )
            .elem("ETag", &stored.etag)
            .close();
        Ok(xml_response(StatusCode::OK, w.finish()))
    }

    fn get_object(
        &self,
        req: &ApiRequest,
        bucket: &str,
        key: &str,
        head: bool,
    ) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        let o = self.object(bucket, key)?;
        if let Some(status) = check_conditions(req, &o, "if-")? {
            let mut r = wire::empty_response(status);
            set(&mut r, "etag", &o.etag);
            set(
                &mut r,
                "last-modified",
                &wire::time::http_date(o.last_modified_ms),
            );
            return Ok(r);
        }
        let meta: ObjectMeta = serde_json::from_str(&o.meta).unwrap_or_default();
        let size = o.size.max(0) as u64;
        let range = match (req.query_param("partNumber"), req.header("range")) {
            (Some(pn), _) => Some(part_range(pn, &meta, size)?),
            (None, Some(r)) => parse_range(r, size)?,
            (None, None) => None,
        };
        let (status, start, len) = match range {
            Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s),
            None => (StatusCode::OK, 0, size),
        };
        let mut r = wire::empty_response(status);
        for (h, v) in &meta.headers {
            set(&mut r, h, v);
        }
        if !meta.headers.contains_key("content-type") {
            set(&mut r, "content-type", "binary/octet-stream");
        }
        for (k, v) in &meta.user {
            set(&mut r, &format!("x-amz-meta-{k}"), v);
        }
        set(&mut r, "etag", &o.etag);
        set(
            &mut r,
            "last-modified",
            &wire::time::http_date(o.last_modified_ms),
        );
        set(&mut r, "accept-ranges", "bytes");
        set(&mut r, "content-length", &len.to_string());
        if !meta.tags.is_empty() {
            set(&mut r, "x-amz-tagging-count", &meta.tags.len().to_string());
        }
        if let Some(n) = meta.parts {
            set(&mut r, "x-amz-mp-parts-count", &n.to_string());
        }
        if range.is_some() {
            set(
                &mut r,
                "content-range",
                &format!("bytes {}-{}/{}", start, start + len - 1, size),
            );
        }
        let part = req
            .query_param("partNumber")
            .and_then(|p| p.parse::<usize>().ok());
        if let (Some(n), Some((alg, _, kind))) =
            (part.filter(|_| meta.parts.is_some()), &meta.checksum)
        {
            // A part read carries that part's own checksum, as S3 answers it.
            if let (Some(a), Some(v)) = (
                ChecksumAlgorithm::parse(alg),
                meta.part_checksums.get(n - 1),
            ) {
                set(&mut r, a.header_name(), v);
                set(&mut r, "x-amz-checksum-type", kind);
            }
        } else if req
            .header("x-amz-checksum-mode")
            .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"))
            && (range.is_none() || part.is_some())
        {
            if let Some((alg, value, kind)) = &meta.checksum {
                if let Some(a) = ChecksumAlgorithm::parse(alg) {
                    set(&mut r, a.header_name(), value);
                    set(&mut r, "x-amz-checksum-type", kind);
                }
            }
        }
        // Presigned URLs may override response headers.
        for (q, h) in [
            ("response-content-type", "content-type"),
            ("response-content-language", "content-language"),
            ("response-expires", "expires"),
            ("response-cache-control", "cache-control"),
            ("response-content-disposition", "content-disposition"),
            ("response-content-encoding", "content-encoding"),
        ] {
            if let Some(v) = req.query_param(q) {
                set(&mut r, h, v);
            }
        }
        if head || len == 0 {
            return Ok(r);
        }
        let file = self
            .inner
            .blobs
            .open(&o.blob)?
            .ok_or_else(|| S3Error::internal(format!("blob {} is missing", o.blob)))?;
        r.extensions_mut().insert(wire::FileBody {
            file: Arc::new(file),
            offset: start,
            len,
        });
        Ok(r)
    }

    pub(crate) fn delete_one(&self, b: &BucketRecord, key: &str, request_id: &str) -> Result<()> {
        let config = S3::notification_config(b);
        let gone = self.inner.store.delete_object(
            &b.name,
            key,
            &|o, seq| {
                let mut o = o.clone();
                o.seq = seq;
                S3::notifications(config.as_ref(), b, "ObjectRemoved:Delete", &o, request_id)
            },
            wire::time::now_ms(),
        )?;
        if let Some(o) = gone {
            self.inner.delivery.wake();
            let _ = self.inner.blobs.delete(&o.blob);
        }
        Ok(())
    }

    async fn delete_objects(&self, req: &ApiRequest, bucket: &str) -> Result<ApiResponse> {
        let b = self.bucket(bucket)?;
        if req.header("content-md5").is_none()
            && !req
                .headers
                .keys()
                .any(|k| k.as_str().starts_with("x-amz-checksum-"))
        {
            return Err(S3Error::invalid_request(
                "Missing required header for this request: Content-MD5 OR x-amz-checksum-*",
            ));
        }
        verify_small_body(req)?;
        let d = xml::parse_delete(&req.body).map_err(xml_err)?;
        let mut w = XmlWriter::new();
        w.open("DeleteResult");
        for obj in &d.objects {
            match names::check_object_key(&obj.key).map_err(|e| (e.code(), e.to_string())) {
                Ok(()) => match self.delete_one(&b, &obj.key, &req.request_id) {
                    Ok(()) => {
                        if !d.quiet {
                            w.open("Deleted").elem("Key", &obj.key).close();
                        }
                    }
                    Err(e) => {
                        w.open("Error")
                            .elem("Key", &obj.key)
                            .elem("Code", e.code)
                            .elem("Message", &e.message)
                            .close();
                    }
                },
                Err((code, message)) => {
                    w.open("Error")
                        .elem("Key", &obj.key)
                        .elem("Code", code)
                        .elem("Message", &message)
                        .close();
                }
            }
        }
        w.close();
        Ok(xml_response(StatusCode::OK, w.finish()))
    }

    /// Lists a bucket's objects per `params`, resuming after `marker`, fetching from the
    /// store in batches and jumping over common prefixes.
    fn scan(
        &self,
        bucket: &str,
        params: &ListParams,
        marker: Option<&str>,
    ) -> Result<list::ListPage<Listed>> {
        let prefix = params.prefix.clone();
        let mut lister: Lister<Listed> = Lister::new(params);
        let (mut start, mut inclusive) = match list::scan_start(params, marker) {
            list::ScanStart::From(s) => (s, true),
            list::ScanStart::After(s) => (s, false),
            list::ScanStart::Nothing => (String::new(), false),
        };
        let nothing = matches!(list::scan_start(params, marker), list::ScanStart::Nothing);
        if !nothing {
            'outer: loop {
                let batch = self
                    .inner
                    .store
                    .list_objects(bucket, &prefix, &start, inclusive, 1000)?;
                let full = batch.len() == 1000;
                let last = batch.last().map(|o| o.key.clone());
                for o in batch {
                    match lister.offer(Listed(o)) {
                        Step::Next => {}
                        Step::SkipTo(next) => {
                            start = next;
                            inclusive = true;
                            continue 'outer;
                        }
                        Step::Done => break 'outer,
                    }
                }
                match (full, last) {
                    (true, Some(l)) => {
                        start = l;
                        inclusive = false;
                    }
                    _ => break,
                }
            }
        }
        Ok(lister.finish())
    }

    fn list_versions(&self, req: &ApiRequest, bucket: &str) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        let params = ListParams {
            prefix: req.query_param("prefix").unwrap_or("").to_string(),
            delimiter: req
                .query_param("delimiter")
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            max_keys: req
                .query_param("max-keys")
                .and_then(|m| m.parse::<usize>().ok())
                .unwrap_or(1000)
                .min(1000),
        };
        let marker = req.query_param("key-marker").filter(|m| !m.is_empty());
        let page = self.scan(bucket, &params, marker)?;
        let mut w = XmlWriter::new();
        w.open("ListVersionsResult")
            .elem("Name", bucket)
            .elem("Prefix", &params.prefix)
            .elem("KeyMarker", marker.unwrap_or(""))
            .elem("VersionIdMarker", "")
            .elem("MaxKeys", &params.max_keys.to_string());
        if let Some(d) = &params.delimiter {
            w.elem("Delimiter", d);
        }
        w.elem(
            "IsTruncated",
            if page.is_truncated { "true" } else { "false" },
        );
        if let Some(next) = &page.next_marker {
            w.elem("NextKeyMarker", next)
                .elem("NextVersionIdMarker", "null");
        }
        for Listed(o) in &page.contents {
            w.open("Version")
                .elem("Key", &o.key)
                .elem("VersionId", "null")
                .elem("IsLatest", "true")
                .elem("LastModified", &wire::time::iso8601_ms(o.last_modified_ms))
                .elem("ETag", &o.etag)
                .elem("Size", &o.size.to_string())
                .elem("StorageClass", "STANDARD");
            w.open("Owner")
                .elem("ID", wire::ACCOUNT_ID)
                .elem("DisplayName", "eddy")
                .close();
            w.close();
        }
        for p in &page.common_prefixes {
            w.open("CommonPrefixes").elem("Prefix", p).close();
        }
        w.close();
        Ok(xml_response(StatusCode::OK, w.finish()))
    }

    fn list_objects(&self, req: &ApiRequest, bucket: &str, v2: bool) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        let prefix = req.query_param("prefix").unwrap_or("").to_string();
        let delimiter = req
            .query_param("delimiter")
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        let max_keys = match req.query_param("max-keys") {
            Some(m) => m
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    S3Error::invalid_argument(
                        "Provided max-keys not an integer or within integer range",
                    )
                })?
                .min(1000) as usize,
            None => 1000,
        };
        let url = match req.query_param("encoding-type") {
            None => false,
            Some(e) if e.eq_ignore_ascii_case("url") => true,
            Some(_) => {
                return Err(S3Error::invalid_argument(
                    "Invalid Encoding Method specified in Request",
                ))
            }
        };
        let token = match req
            .query_param("continuation-token")
            .filter(|t| !t.is_empty())
        {
            Some(t) if v2 => Some(
                list::decode_token(t)
                    .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?,
            ),
            _ => None,
        };
        let start_after = req.query_param("start-after").filter(|_| v2);
        let marker = if v2 {
            token.as_deref().or(start_after)
        } else {
            req.query_param("marker")
        };
        let params = ListParams {
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            max_keys,
        };
        let page = self.scan(bucket, &params, marker)?;
        let enc = |s: &str| {
            if url {
                list::url_encode_key(s)
            } else {
                s.to_string()
            }
        };
        let mut w = XmlWriter::new();
        // botocore URL-decodes the echoed Prefix of V2 listings only.
        let echoed_prefix = if v2 { enc(&prefix) } else { prefix.clone() };
        w.open("ListBucketResult")
            .elem("Name", bucket)
            .elem("Prefix", &echoed_prefix);
        if v2 {
            if let Some(t) = req.query_param("continuation-token") {
                w.elem("ContinuationToken", t);
            }
            if let Some(s) = start_after {
                w.elem("StartAfter", &enc(s));
            }
            w.elem(
                "KeyCount",
                &(page.contents.len() + page.common_prefixes.len()).to_string(),
            );
        } else {
            w.elem("Marker", &enc(req.query_param("marker").unwrap_or("")));
        }
        w.elem("MaxKeys", &max_keys.to_string());
        if let Some(d) = &delimiter {
            w.elem("Delimiter", &enc(d));
        }
        if url {
            w.elem("EncodingType", "url");
        }
        w.elem(
            "IsTruncated",
            if page.is_truncated { "true" } else { "false" },
        );
        if let Some(next) = &page.next_marker {
            if v2 {
                w.elem("NextContinuationToken", &list::encode_token(next));
            } else if delimiter.is_some() {
                w.elem("NextMarker", &enc(next));
            }
        }
        for Listed(o) in &page.contents {
            let meta: ObjectMeta = serde_json::from_str(&o.meta).unwrap_or_default();
            w.open("Contents")
                .elem("Key", &enc(&o.key))
                .elem("LastModified", &wire::time::iso8601_ms(o.last_modified_ms))
                .elem("ETag", &o.etag)
                .elem("Size", &o.size.to_string());
            if let Some((alg, _, kind)) = &meta.checksum {
                w.elem("ChecksumAlgorithm", alg).elem("ChecksumType", kind);
            }
            if !v2 || req.query_param("fetch-owner") == Some("true") {
                w.open("Owner")
                    .elem("ID", wire::ACCOUNT_ID)
                    .elem("DisplayName", "eddy")
                    .close();
            }
            w.elem(
                "StorageClass",
                meta.headers
                    .get("x-amz-storage-class")
                    .map_or("STANDARD", |s| s.as_str()),
            );
            w.close();
        }
        for p in &page.common_prefixes {
            w.open("CommonPrefixes").elem("Prefix", &enc(p)).close();
        }
        w.close();
        Ok(xml_response(StatusCode::OK, w.finish()))
    }
}

/// An object record listed by key.
struct Listed(ObjectRecord);

impl AsRef<str> for Listed {
    fn as_ref(&self) -> &str {
        &self.0.key
    }
}

/// Checks Content-MD5 / x-amz-checksum-* of a small buffered body (DeleteObjects).
pub(crate) fn verify_small_body(req: &ApiRequest) -> Result<()> {
    let mut hasher = checksum::Hasher::new(false, None);
    hasher.update(&req.body);
    let d = hasher.finish();
    if let Some(md5) = req.header("content-md5") {
        checksum::content_md5_check(md5, &d.md5)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    }
    if let Some((alg, expected)) = checksum::checksum_header(&req.headers)
        .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?
    {
        let actual = checksum::checksum_of(alg, &req.body);
        checksum::checksum_check(alg, &expected, &actual)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    }
    Ok(())
}

/// Evaluates If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (with
/// `prefix` `if-`, or `x-amz-copy-source-if-` for copies). Returns the status to answer
/// instead of the object (304), or an error (412).
fn check_conditions(
    req: &ApiRequest,
    o: &ObjectRecord,
    prefix: &str,
) -> Result<Option<StatusCode>> {
    let h = |name: &str| req.header(&format!("{prefix}{name}"));
    let etag = o.etag.trim_matches('"');
    let etag_in = |list: &str| {
        list.split(',')
            .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
            .any(|t| t == "*" || t == etag)
    };
    let failed = || {
        S3Error::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
    };
    let modified = o.last_modified_ms / 1000 * 1000;
    let copy = prefix != "if-";
    if let Some(m) = h("match") {
        if !etag_in(m) {
            return Err(failed());
        }
    } else if let Some(t) = h("unmodified-since").and_then(wire::time::parse_http_date) {
        if modified > t {
            return Err(failed());
        }
    }
    if let Some(m) = h("none-match") {
        if etag_in(m) {
            return if copy {
                Err(failed())
            } else {
                Ok(Some(StatusCode::NOT_MODIFIED))
            };
        }
    } else if let Some(t) = h("modified-since").and_then(wire::time::parse_http_date) {
        if modified <= t && t <= wire::time::now_ms() {
            return if copy {
                Err(failed())
            } else {
                Ok(Some(StatusCode::NOT_MODIFIED))
            };
        }
    }
    Ok(None)
}

/// The byte range of part `pn` of an object: its whole data for a single-part object.
fn part_range(pn: &str, meta: &ObjectMeta, size: u64) -> Result<(u64, u64)> {
    let n: usize = pn
        .parse()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })?;
    let unsatisfiable = || {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidPart",
            "The requested partnumber is not satisfiable",
        )
    };
    if meta.part_sizes.is_empty() {
        return if n == 1 && size > 0 {
            Ok((0, size))
        } else {
            Err(unsatisfiable())
        };
    }
    let sizes = &meta.part_sizes;
    if n > sizes.len() {
        return Err(unsatisfiable());
    }
    let start: u64 = sizes[..n - 1].iter().sum();
    Ok((start, start + sizes[n - 1]))
}

/// Checks a write's `If-Match` / `If-None-Match` against the object it would replace.
pub(crate) fn check_write_conditions(
    req: &ApiRequest,
    existing: Option<&ObjectRecord>,
) -> Result<()> {
    let failed = || {
        S3Error::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
    };
    if let Some(m) = req.header("if-none-match") {
        let hit = existing.is_some_and(|o| {
            let etag = o.etag.trim_matches('"');
            m.split(',')
                .map(|t| t.trim().trim_matches('"'))
                .any(|t| t == "*" || t == etag)
        });
        if hit {
            return Err(failed());
        }
    }
    if let Some(m) = req.header("if-match") {
        match existing {
            None => return Err(S3Error::no_such_key("")),
            Some(o) => {
                let etag = o.etag.trim_matches('"');
                if !m
                    .split(',')
                    .map(|t| t.trim().trim_matches('"'))
                    .any(|t| t == etag || t == "*")
                {
                    return Err(failed());
                }
            }
        }
    }
    Ok(())
}

/// Parses a single `bytes=` range against an object of `size` bytes into [start, end).
/// A range S3 ignores (several ranges, other units) gives `None`; one that cannot be
/// satisfied is `InvalidRange`.
pub(crate) fn parse_range(header: &str, size: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let invalid = || {
        S3Error::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
    };
    let (a, b) = spec.split_once('-').ok_or_else(invalid)?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| invalid())?;
        if n == 0 {
            return Err(invalid());
        }
        (size.saturating_sub(n), size)
    } else {
        let start: u64 = a.parse().map_err(|_| invalid())?;
        let end = if b.is_empty() {
            size
        } else {
            let e: u64 = b.parse().map_err(|_| invalid())?;
            if e < start {
                return Ok(None);
            }
            (e + 1).min(size)
        };
        (start, end)
    };
    if range.0 >= size {
        return Err(invalid());
    }
    Ok(Some(range))
}

impl wire::Service for S3 {
    fn handle(&self, mut req: ApiRequest) -> wire::BoxFuture<'_, ApiResponse> {
        Box::pin(async move {
            let head = req.method == Method::HEAD;
            let rid = req.request_id.clone();
            let mut r = match self.dispatch(&mut req).await {
                Ok(r) => r,
                Err(e) => e.into_response(&rid, head),
            };
            set(&mut r, "x-amz-request-id", &rid);
            r
        })
    }

    fn streams(&self, head: &http::request::Parts) -> bool {
        // Object and part uploads stream to disk; every other body is a small document
        // the edge reads and verifies first.
        if head.method != Method::PUT {
            return false;
        }
        let query = wire::parse_query(head.uri.query().unwrap_or(""));
        let endpoint = router::route_head(&router::Head {
            method: &head.method,
            path: head.uri.path(),
            query: &query,
            headers: &head.headers,
        });
        matches!(
            endpoint,
            Ok(Endpoint::PutObject { .. } | Endpoint::UploadPart { .. })
        )
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> ApiResponse {
        let code = match code {
            "UnrecognizedClientException" => "InvalidAccessKeyId",
            "InvalidSignatureException" => "SignatureDoesNotMatch",
            "MissingAuthenticationTokenException" | "IncompleteSignatureException" => {
                "AccessDenied"
            }
            "RequestEntityTooLargeException" => "EntityTooLarge",
            other => other,
        };
        let body = xml::error_document(code, message, "", "");
        wire::response(status, "application/xml", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let check = |h: &str, size: u64, expected: Option<Option<(u64, u64)>>| {
            assert_eq!(parse_range(h, size).ok(), expected, "{h}");
        };
        check("bytes=0-9", 100, Some(Some((0, 10))));
        check("bytes=90-", 100, Some(Some((90, 100))));
        check("bytes=-10", 100, Some(Some((90, 100))));
        check("bytes=-500", 100, Some(Some((0, 100))));
        check("bytes=50-500", 100, Some(Some((50, 100))));
        check("bytes=100-", 100, None);
        check("bytes=0-1,5-6", 100, Some(None));
        check("items=0-1", 100, Some(None));
        check("bytes=5-2", 100, Some(None));
    }

    #[test]
    fn event_keys() {
        assert_eq!(event_key("a b/c+d.jpg"), "a+b/c%2Bd.jpg");
    }
}
