//! Multipart uploads: parts stream into blobs of their own; completion checks the parts
//! as S3 does, joins them into one blob, and stores the object with its notifications in
//! the same transaction that forgets the upload.

use crate::checksum::{self, ChecksumAlgorithm};
use crate::error::{Result, S3Error};
use crate::intake;
use crate::names;
use crate::service::{blob_key, set, xml_err, ObjectMeta, S3};
use crate::xml::{self, XmlWriter};
use http::StatusCode;
use store::{PartRecord, UploadRecord};
use wire::{ApiRequest, ApiResponse};

/// Parts other than the last must be at least this large (S3's 5 MiB).
pub const PART_BYTES_MIN: i64 = 5 * 1024 * 1024;
/// The largest part (S3's 5 GiB).
pub const PART_BYTES_MAX: u64 = 5 * 1024 * 1024 * 1024;
pub const PARTS_MAX: i32 = 10_000;

/// What an upload carries until it completes.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct UploadMeta {
    object: ObjectMeta,
    checksum_algorithm: Option<String>,
    /// `FULL_OBJECT` or `COMPOSITE`, as asked for at creation.
    #[serde(default)]
    checksum_type: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct PartMeta {
    md5: String,
    checksum: Option<(String, String)>,
}

fn part_number(raw: &str) -> Result<i32> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| (1..=PARTS_MAX).contains(n))
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })
}

/// The CompleteMultipartUpload answer.
fn complete_result(
    req: &ApiRequest,
    bucket: &str,
    key: &str,
    etag: &str,
    meta: &ObjectMeta,
) -> ApiResponse {
    let host = req.header("host").unwrap_or("127.0.0.1:4566");
    let mut w = XmlWriter::new();
    w.open("CompleteMultipartUploadResult")
        .elem("Location", &format!("http://{host}/{bucket}/{key}"))
        .elem("Bucket", bucket)
        .elem("Key", key)
        .elem("ETag", etag);
    if let Some((alg, value, kind)) = &meta.checksum {
        if let Some(a) = ChecksumAlgorithm::parse(alg) {
            w.elem(a.xml_element(), value).elem("ChecksumType", kind);
        }
    }
    w.close();
    xml_ok(w.finish())
}

fn xml_ok(body: String) -> ApiResponse {
    wire::response(StatusCode::OK, "application/xml", body)
}

impl S3 {
    /// The part number a part upload names, once its bucket, number and upload checked
    /// out, in the order AWS reports them.
    fn part_target(&self, bucket: &str, key: &str, upload_id: &str, part: &str) -> Result<i32> {
        self.bucket(bucket)?;
        let number = part_number(part)?;
        self.upload_for(bucket, key, upload_id)?;
        Ok(number)
    }

    fn upload_for(&self, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord> {
        match self.inner.store.upload(upload_id)? {
            Some(u) if u.bucket == bucket && u.key == key => Ok(u),
            _ => Err(S3Error::no_such_upload(upload_id)),
        }
    }

    pub(crate) fn create_multipart(
        &self,
        req: &ApiRequest,
        bucket: &str,
        key: &str,
    ) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        names::check_object_key(key)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
        let object = Self::meta_from_headers(req)?;
        let alg = req
            .header("x-amz-checksum-algorithm")
            .map(|a| {
                ChecksumAlgorithm::parse(a).ok_or_else(|| {
                    S3Error::invalid_argument(format!("Checksum algorithm {a} is not supported"))
                })
            })
            .transpose()?;
        let upload_id = wire::id::hex_id(48);
        let meta = UploadMeta {
            object,
            checksum_algorithm: alg.map(|a| a.name().to_string()),
            checksum_type: req
                .header("x-amz-checksum-type")
                .map(|t| t.to_ascii_uppercase()),
        };
        self.inner.store.create_upload(&UploadRecord {
            upload_id: upload_id.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            created_ms: wire::time::now_ms(),
            meta: serde_json::to_string(&meta).unwrap_or_default(),
        })?;
        let mut w = XmlWriter::new();
        w.open("InitiateMultipartUploadResult")
            .elem("Bucket", bucket)
            .elem("Key", key)
            .elem("UploadId", &upload_id)
            .close();
        let mut r = xml_ok(w.finish());
        if let Some(a) = alg {
            set(&mut r, "x-amz-checksum-algorithm", a.name());
        }
        Ok(r)
    }

    async fn store_part(
        &self,
        upload_id: &str,
        number: i32,
        blob: Box<dyn store::BlobWrite>,
        len: u64,
        md5: [u8; 16],
        checksum: Option<(ChecksumAlgorithm, String)>,
    ) -> Result<String> {
        let key = blob_key();
        let k = key.clone();
        tokio::task::spawn_blocking(move || blob.commit(&k))
            .await
            .map_err(S3Error::internal)??;
        let etag = checksum::etag_of(&md5);
        let meta = PartMeta {
            md5: hex::encode(md5),
            checksum: checksum.map(|(a, v)| (a.name().to_string(), v)),
        };
        let part = PartRecord {
            part_number: number,
            blob: key.clone(),
            size: len as i64,
            etag: etag.clone(),
            last_modified_ms: wire::time::now_ms(),
            meta: serde_json::to_string(&meta).unwrap_or_default(),
        };
        match self.inner.store.put_part(upload_id, &part) {
            Ok(Some(old)) => {
                let _ = self.inner.blobs.delete(&old);
            }
            Ok(None) => {}
            Err(e) => {
                let _ = self.inner.blobs.delete(&key);
                return Err(e.into());
            }
        }
        // An abort racing this part would leave the blob unnamed; the sweep removes it.
        Ok(etag)
    }

    pub(crate) async fn upload_part(
        &self,
        req: &mut ApiRequest,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: &str,
    ) -> Result<ApiResponse> {
        let number = self.part_target(bucket, key, upload_id, part)?;
        let intake = intake::receive(req, self.inner.blobs.as_ref(), PART_BYTES_MAX).await?;
        let checksum = intake
            .declared_checksum
            .clone()
            .or(intake.digests.checksum.clone());
        let etag = self
            .store_part(
                upload_id,
                number,
                intake.blob,
                intake.len,
                intake.digests.md5,
                checksum.clone(),
            )
            .await?;
        let mut r = wire::empty_response(StatusCode::OK);
        set(&mut r, "etag", &etag);
        if let Some((a, v)) = checksum {
            set(&mut r, a.header_name(), &v);
        }
        Ok(r)
    }

    pub(crate) async fn upload_part_copy(
        &self,
        req: &mut ApiRequest,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: &str,
    ) -> Result<ApiResponse> {
        let number = self.part_target(bucket, key, upload_id, part)?;
        let (sb, sk) = Self::copy_source(req)?;
        self.bucket(&sb)?;
        let src = self.object(&sb, &sk)?;
        let size = src.size.max(0) as u64;
        let range = match req.header("x-amz-copy-source-range") {
            Some(r) => {
                let parsed = r
                    .strip_prefix("bytes=")
                    .and_then(|s| s.split_once('-'))
                    .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
                match parsed {
                    Some((a, b)) if a <= b && b < size => Some((a, b + 1)),
                    _ => {
                        return Err(S3Error::invalid_argument(
                            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                        ))
                    }
                }
            }
            None => None,
        };
        let (blob, digests, len) = self.copy_blob(&src, range).await?;
        let etag = self
            .store_part(upload_id, number, blob, len, digests.md5, None)
            .await?;
        let mut w = XmlWriter::new();
        w.open("CopyPartResult")
            .elem(
                "LastModified",
                &wire::time::iso8601_ms(wire::time::now_ms()),
            )
            .elem("ETag", &etag)
            .close();
        Ok(xml_ok(w.finish()))
    }

    pub(crate) async fn complete_multipart(
        &self,
        req: &ApiRequest,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<ApiResponse> {
        let b = self.bucket(bucket)?;
        let wanted = xml::parse_complete_multipart(&req.body).map_err(xml_err)?;
        let upload = match self.upload_for(bucket, key, upload_id) {
            Ok(u) => u,
            Err(e) => {
                // A completion repeated after it succeeded answers as the first did.
                if let Some(o) = self.inner.store.object(bucket, key)? {
                    let m: ObjectMeta = serde_json::from_str(&o.meta).unwrap_or_default();
                    if m.upload_id.as_deref() == Some(upload_id) {
                        return Ok(complete_result(req, bucket, key, &o.etag, &m));
                    }
                }
                return Err(e);
            }
        };
        if req.header("if-none-match").is_some() || req.header("if-match").is_some() {
            crate::service::check_write_conditions(
                req,
                self.inner.store.object(bucket, key)?.as_ref(),
            )?;
        }
        let stored = self.inner.store.parts(upload_id)?;
        let invalid_part = || {
            S3Error::new(
                StatusCode::BAD_REQUEST,
                "InvalidPart",
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            )
        };
        let mut chosen = Vec::with_capacity(wanted.len());
        let mut last = 0;
        for w in &wanted {
            if w.part_number <= last {
                return Err(S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidPartOrder",
                    "The list of parts was not in ascending order. Parts must be ordered by part number.",
                ));
            }
            last = w.part_number;
            let p = stored
                .iter()
                .find(|p| p.part_number == w.part_number)
                .ok_or_else(invalid_part)?;
            if p.etag.trim_matches('"') != w.etag.trim_matches('"') {
                return Err(invalid_part());
            }
            chosen.push(p.clone());
        }
        for p in &chosen[..chosen.len() - 1] {
            if p.size < PART_BYTES_MIN {
                return Err(S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                ));
            }
        }
        let umeta: UploadMeta = serde_json::from_str(&upload.meta).unwrap_or_default();
        let mut md5s = Vec::with_capacity(chosen.len());
        let mut part_checksums = Vec::new();
        for p in &chosen {
            let pm: PartMeta = serde_json::from_str(&p.meta).unwrap_or_default();
            let mut md5 = [0u8; 16];
            hex::decode_to_slice(&pm.md5, &mut md5).map_err(S3Error::internal)?;
            md5s.push(md5);
            if let Some((_, v)) = pm.checksum {
                part_checksums.push(v);
            }
        }
        let etag = checksum::multipart_etag(&md5s);
        let mut meta = umeta.object.clone();
        meta.parts = Some(chosen.len() as u32);
        meta.part_sizes = chosen.iter().map(|p| p.size.max(0) as u64).collect();
        meta.upload_id = Some(upload_id.to_string());
        if part_checksums.len() == chosen.len() {
            meta.part_checksums = part_checksums.clone();
        }
        // Join the parts into one blob, so reads and ranges see a plain file.
        let blobs = self.inner.blobs.clone();
        let sources: Vec<String> = chosen.iter().map(|p| p.blob.clone()).collect();
        let dest = blob_key();
        let d = dest.clone();
        let total: i64 = chosen.iter().map(|p| p.size).sum();
        let alg = umeta
            .checksum_algorithm
            .as_deref()
            .and_then(ChecksumAlgorithm::parse);
        // The whole object's checksum is computed while joining, for FULL_OBJECT uploads.
        let full = tokio::task::spawn_blocking(move || -> std::io::Result<Option<String>> {
            use std::io::Read;
            let mut hasher = checksum::Hasher::new(false, alg);
            let mut w = blobs.writer().map_err(std::io::Error::other)?;
            let mut buf = vec![0u8; 1024 * 1024];
            for s in sources {
                let mut f = blobs
                    .open(&s)
                    .map_err(std::io::Error::other)?
                    .ok_or_else(|| std::io::Error::other(format!("part blob {s} is missing")))?;
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    w.write(&buf[..n])?;
                }
            }
            w.commit(&d)?;
            Ok(hasher.finish().checksum.map(|(_, v)| v))
        })
        .await
        .map_err(S3Error::internal)??;
        if let Some(alg) = umeta
            .checksum_algorithm
            .as_deref()
            .and_then(ChecksumAlgorithm::parse)
        {
            let full_object =
                umeta.checksum_type.as_deref() == Some("FULL_OBJECT") || !alg.supports_composite();
            if full_object {
                if let Some(v) = full.clone() {
                    meta.checksum = Some((alg.name().to_string(), v, "FULL_OBJECT".into()));
                }
            } else if part_checksums.len() == chosen.len() {
                if let Some(c) = checksum::composite_checksum(alg, &part_checksums) {
                    meta.checksum = Some((alg.name().to_string(), c, "COMPOSITE".into()));
                }
            }
        }
        // A checksum the client sends for the whole upload must match the composite one.
        if let Some((alg, claimed)) = checksum::checksum_header(&req.headers)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))
            .unwrap_or(None)
            .or_else(|| {
                ChecksumAlgorithm::ALL
                    .iter()
                    .find_map(|a| req.header(a.header_name()).map(|v| (*a, v.to_string())))
            })
        {
            let ours = meta.checksum.as_ref().filter(|(a, _, _)| a == alg.name());
            let matches = ours.is_some_and(|(_, v, _)| {
                let bare = v.split('-').next().unwrap_or(v);
                claimed.trim() == v || claimed.trim() == bare
            });
            if !matches {
                let _ = self.inner.blobs.delete(&dest);
                return Err(S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "BadDigest",
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        alg.name()
                    ),
                ));
            }
        }
        let rec = store::ObjectRecord {
            bucket: bucket.to_string(),
            key: key.to_string(),
            blob: dest.clone(),
            size: total,
            etag: etag.clone(),
            last_modified_ms: wire::time::now_ms(),
            meta: serde_json::to_string(&meta).unwrap_or_default(),
            seq: 0,
        };
        let store = self.inner.store.clone();
        let rid = req.request_id.clone();
        let bk = b.clone();
        let config = S3::notification_config(&b);
        let uid = upload_id.to_string();
        let result = tokio::task::spawn_blocking(move || {
            store.finish_upload(
                &uid,
                Some((&rec, &|stored: &store::ObjectRecord| {
                    S3::notifications(
                        config.as_ref(),
                        &bk,
                        "ObjectCreated:CompleteMultipartUpload",
                        stored,
                        &rid,
                    )
                })),
                wire::time::now_ms(),
            )
        })
        .await
        .map_err(S3Error::internal)?;
        let (_, replaced, parts) = match result {
            Ok(x) => x,
            Err(e) => {
                let _ = self.inner.blobs.delete(&dest);
                return Err(e.into());
            }
        };
        self.inner.delivery.wake();
        for blob in parts.into_iter().chain(replaced) {
            let _ = self.inner.blobs.delete(&blob);
        }
        Ok(complete_result(req, bucket, key, &etag, &meta))
    }

    pub(crate) async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        self.upload_for(bucket, key, upload_id)?;
        let store = self.inner.store.clone();
        let uid = upload_id.to_string();
        let (_, _, blobs) = tokio::task::spawn_blocking(move || {
            store.finish_upload(&uid, None, wire::time::now_ms())
        })
        .await
        .map_err(S3Error::internal)??;
        for b in blobs {
            let _ = self.inner.blobs.delete(&b);
        }
        Ok(wire::empty_response(StatusCode::NO_CONTENT))
    }

    pub(crate) fn list_parts(
        &self,
        req: &ApiRequest,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        let upload = self.upload_for(bucket, key, upload_id)?;
        let max = req
            .query_param("max-parts")
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1000)
            .min(1000);
        let marker = req
            .query_param("part-number-marker")
            .and_then(|m| m.parse::<i32>().ok())
            .unwrap_or(0);
        let parts: Vec<PartRecord> = self
            .inner
            .store
            .parts(upload_id)?
            .into_iter()
            .filter(|p| p.part_number > marker)
            .collect();
        let truncated = parts.len() > max;
        let page = &parts[..parts.len().min(max)];
        let mut w = XmlWriter::new();
        w.open("ListPartsResult")
            .elem("Bucket", bucket)
            .elem("Key", key)
            .elem("UploadId", upload_id)
            .elem("PartNumberMarker", &marker.to_string())
            .elem(
                "NextPartNumberMarker",
                &page.last().map_or(marker, |p| p.part_number).to_string(),
            )
            .elem("MaxParts", &max.to_string())
            .elem("IsTruncated", if truncated { "true" } else { "false" });
        let umeta: UploadMeta = serde_json::from_str(&upload.meta).unwrap_or_default();
        if let Some(a) = &umeta.checksum_algorithm {
            w.elem("ChecksumAlgorithm", a);
        }
        for p in page {
            w.open("Part")
                .elem("PartNumber", &p.part_number.to_string())
                .elem("LastModified", &wire::time::iso8601_ms(p.last_modified_ms))
                .elem("ETag", &p.etag)
                .elem("Size", &p.size.to_string());
            let pm: PartMeta = serde_json::from_str(&p.meta).unwrap_or_default();
            if let Some((alg, v)) = pm.checksum {
                if let Some(a) = ChecksumAlgorithm::parse(&alg) {
                    w.elem(a.xml_element(), &v);
                }
            }
            w.close();
        }
        w.close();
        Ok(xml_ok(w.finish()))
    }

    pub(crate) fn list_uploads(&self, req: &ApiRequest, bucket: &str) -> Result<ApiResponse> {
        self.bucket(bucket)?;
        let prefix = req.query_param("prefix").unwrap_or("");
        let max = req
            .query_param("max-uploads")
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1000)
            .min(1000);
        let uploads = self.inner.store.uploads(bucket, prefix, max + 1)?;
        let truncated = uploads.len() > max;
        let mut w = XmlWriter::new();
        w.open("ListMultipartUploadsResult")
            .elem("Bucket", bucket)
            .elem("KeyMarker", "")
            .elem("UploadIdMarker", "")
            .elem("Prefix", prefix)
            .elem("MaxUploads", &max.to_string())
            .elem("IsTruncated", if truncated { "true" } else { "false" });
        for u in uploads.iter().take(max) {
            w.open("Upload")
                .elem("Key", &u.key)
                .elem("UploadId", &u.upload_id)
                .elem("Initiated", &wire::time::iso8601_ms(u.created_ms))
                .elem("StorageClass", "STANDARD")
                .close();
        }
        w.close();
        Ok(xml_ok(w.finish()))
    }
}
