//! Turns a request into the S3 operation it names, before anything is handled: bucket
//! and key from the path (path style) or the Host header (virtual-hosted style), the
//! operation from the method, the sub-resource query parameters and a few headers.

use crate::error::{Result, S3Error};
use http::Method;
use wire::ApiRequest;

/// An S3 operation and its addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    ListBuckets,
    GetObjectAttributes {
        bucket: String,
        key: String,
    },
    /// ListObjectVersions: buckets are unversioned, so every object is its own only
    /// version, `null`.
    ListObjectVersions {
        bucket: String,
    },
    CreateBucket {
        bucket: String,
    },
    DeleteBucket {
        bucket: String,
    },
    HeadBucket {
        bucket: String,
    },
    GetBucketLocation {
        bucket: String,
    },
    ListObjects {
        bucket: String,
        v2: bool,
    },
    ListMultipartUploads {
        bucket: String,
    },
    DeleteObjects {
        bucket: String,
    },
    GetBucketNotification {
        bucket: String,
    },
    PutBucketNotification {
        bucket: String,
    },
    PutObject {
        bucket: String,
        key: String,
    },
    CopyObject {
        bucket: String,
        key: String,
    },
    GetObject {
        bucket: String,
        key: String,
    },
    HeadObject {
        bucket: String,
        key: String,
    },
    DeleteObject {
        bucket: String,
        key: String,
    },
    GetObjectTagging {
        bucket: String,
        key: String,
    },
    PutObjectTagging {
        bucket: String,
        key: String,
    },
    DeleteObjectTagging {
        bucket: String,
        key: String,
    },
    CreateMultipartUpload {
        bucket: String,
        key: String,
    },
    UploadPart {
        bucket: String,
        key: String,
        upload_id: String,
        part: String,
    },
    UploadPartCopy {
        bucket: String,
        key: String,
        upload_id: String,
        part: String,
    },
    CompleteMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    AbortMultipartUpload {
        bucket: String,
        key: String,
        upload_id: String,
    },
    ListParts {
        bucket: String,
        key: String,
        upload_id: String,
    },
    /// A real S3 operation Eddy does not implement (versioning, ACLs, policies, ...).
    Unsupported(String),
}

/// Bucket-level sub-resources that exist in S3 but not here.
const UNSUPPORTED_BUCKET: &[&str] = &[
    "versioning",
    "lifecycle",
    "replication",
    "acl",
    "policy",
    "cors",
    "website",
    "tagging",
    "logging",
    "encryption",
    "object-lock",
    "ownershipControls",
    "publicAccessBlock",
    "accelerate",
    "requestPayment",
    "analytics",
    "inventory",
    "metrics",
    "intelligent-tiering",
    "policyStatus",
];
const UNSUPPORTED_OBJECT: &[&str] = &[
    "acl",
    "retention",
    "legal-hold",
    "restore",
    "torrent",
    "select",
    "versionId",
];

/// Finds the bucket named by a virtual-hosted style Host header.
pub fn bucket_from_host(host: &str) -> Option<String> {
    wire::s3_bucket_from_host(host)
}

/// What routing reads of a request: its head, not its body. The edge routes heads too,
/// to decide whether a body is streamed (uploads) or read first (everything else).
pub struct Head<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a http::HeaderMap,
}

impl<'a> Head<'a> {
    pub fn of(req: &'a ApiRequest) -> Self {
        Self {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
        }
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn query_param(&self, name: &str) -> Option<&'a str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn has(req: &Head<'_>, name: &str) -> bool {
    req.query.iter().any(|(k, _)| k == name)
}

/// Parses the request into an [`Endpoint`].
pub fn route(req: &ApiRequest) -> Result<Endpoint> {
    route_head(&Head::of(req))
}

/// Parses a request head into an [`Endpoint`].
pub fn route_head(req: &Head<'_>) -> Result<Endpoint> {
    let host_bucket = req.header("host").and_then(bucket_from_host);
    let path = req.path.strip_prefix('/').unwrap_or(req.path);
    let (bucket, raw_key) = match host_bucket {
        Some(b) => (b, path),
        None => match path.split_once('/') {
            Some((b, k)) => (wire::percent_decode(b), k),
            None => (wire::percent_decode(path), ""),
        },
    };
    // Keys are opaque bytes; a key that does not decode to UTF-8 is refused, not mangled.
    let key = match percent_encoding::percent_decode_str(raw_key).decode_utf8() {
        Ok(k) => k.into_owned(),
        Err(_) => return Err(S3Error::invalid_argument("Object keys must be valid UTF-8")),
    };
    let m = req.method;
    if bucket.is_empty() {
        return match *m {
            Method::GET => Ok(Endpoint::ListBuckets),
            _ => Err(S3Error::new(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )),
        };
    }
    if key.is_empty() {
        for sub in UNSUPPORTED_BUCKET {
            if has(req, sub) {
                return Ok(Endpoint::Unsupported(format!("bucket {sub}")));
            }
        }
        return Ok(match *m {
            Method::PUT if has(req, "notification") => Endpoint::PutBucketNotification { bucket },
            Method::PUT => Endpoint::CreateBucket { bucket },
            Method::DELETE => Endpoint::DeleteBucket { bucket },
            Method::HEAD => Endpoint::HeadBucket { bucket },
            Method::GET if has(req, "location") => Endpoint::GetBucketLocation { bucket },
            Method::GET if has(req, "notification") => Endpoint::GetBucketNotification { bucket },
            Method::GET if has(req, "uploads") => Endpoint::ListMultipartUploads { bucket },
            Method::GET if has(req, "versions") => Endpoint::ListObjectVersions { bucket },
            Method::GET => Endpoint::ListObjects {
                v2: req.query_param("list-type") == Some("2"),
                bucket,
            },
            Method::POST if has(req, "delete") => Endpoint::DeleteObjects { bucket },
            _ => Endpoint::Unsupported(format!("{m} on a bucket")),
        });
    }
    for sub in UNSUPPORTED_OBJECT {
        if has(req, sub) {
            return Ok(Endpoint::Unsupported(format!("object {sub}")));
        }
    }
    let upload_id = req.query_param("uploadId").map(str::to_string);
    let copy = req.headers.contains_key("x-amz-copy-source");
    Ok(match (m.clone(), upload_id) {
        (Method::PUT, Some(upload_id)) => {
            let part = req.query_param("partNumber").unwrap_or("").to_string();
            if copy {
                Endpoint::UploadPartCopy {
                    bucket,
                    key,
                    upload_id,
                    part,
                }
            } else {
                Endpoint::UploadPart {
                    bucket,
                    key,
                    upload_id,
                    part,
                }
            }
        }
        (Method::POST, Some(upload_id)) => Endpoint::CompleteMultipartUpload {
            bucket,
            key,
            upload_id,
        },
        (Method::DELETE, Some(upload_id)) => Endpoint::AbortMultipartUpload {
            bucket,
            key,
            upload_id,
        },
        (Method::GET, Some(upload_id)) => Endpoint::ListParts {
            bucket,
            key,
            upload_id,
        },
        (Method::POST, None) if has(req, "uploads") => {
            Endpoint::CreateMultipartUpload { bucket, key }
        }
        (Method::PUT, None) if has(req, "tagging") => Endpoint::PutObjectTagging { bucket, key },
        (Method::GET, None) if has(req, "tagging") => Endpoint::GetObjectTagging { bucket, key },
        (Method::GET, None) if has(req, "attributes") => {
            Endpoint::GetObjectAttributes { bucket, key }
        }
        (Method::DELETE, None) if has(req, "tagging") => {
            Endpoint::DeleteObjectTagging { bucket, key }
        }
        (Method::PUT, None) if copy => Endpoint::CopyObject { bucket, key },
        (Method::PUT, None) => Endpoint::PutObject { bucket, key },
        (Method::GET, None) => Endpoint::GetObject { bucket, key },
        (Method::HEAD, None) => Endpoint::HeadObject { bucket, key },
        (Method::DELETE, None) => Endpoint::DeleteObject { bucket, key },
        (Method::POST, None) => Endpoint::Unsupported("POST object uploads (browser forms)".into()),
        (other, _) => Endpoint::Unsupported(format!("{other} on an object")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, host: &str, path_query: &str, headers: &[(&str, &str)]) -> ApiRequest {
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let mut h = http::HeaderMap::new();
        h.insert("host", host.parse().unwrap());
        for (k, v) in headers {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        ApiRequest {
            method,
            path: path.into(),
            query: wire::parse_query(query),
            raw_query: query.to_string(),
            headers: h,
            body: Default::default(),
            region: "us-east-1".into(),
            request_id: "r".into(),
            stream: None,
            caller: std::sync::Arc::new(wire::identity::Principal::Root),
        }
    }

    fn check(method: Method, host: &str, pq: &str, headers: &[(&str, &str)], expected: Endpoint) {
        assert_eq!(
            route(&req(method, host, pq, headers)).unwrap(),
            expected,
            "{pq}"
        );
    }

    #[test]
    fn endpoints() {
        let b = || "photos".to_string();
        let k = |s: &str| s.to_string();
        check(
            Method::GET,
            "127.0.0.1:4566",
            "/",
            &[],
            Endpoint::ListBuckets,
        );
        check(
            Method::PUT,
            "127.0.0.1:4566",
            "/photos",
            &[],
            Endpoint::CreateBucket { bucket: b() },
        );
        check(
            Method::GET,
            "localhost:4566",
            "/photos?list-type=2&prefix=a",
            &[],
            Endpoint::ListObjects {
                bucket: b(),
                v2: true,
            },
        );
        check(
            Method::GET,
            "photos.localhost:4566",
            "/?location",
            &[],
            Endpoint::GetBucketLocation { bucket: b() },
        );
        check(
            Method::GET,
            "photos.s3.localhost:4566",
            "/a%20b/c.jpg",
            &[],
            Endpoint::GetObject {
                bucket: b(),
                key: k("a b/c.jpg"),
            },
        );
        check(
            Method::GET,
            "photos.s3.amazonaws.com",
            "/x",
            &[],
            Endpoint::GetObject {
                bucket: b(),
                key: k("x"),
            },
        );
        check(
            Method::PUT,
            "127.0.0.1",
            "/photos/a//b/../c",
            &[],
            Endpoint::PutObject {
                bucket: b(),
                key: k("a//b/../c"),
            },
        );
        check(
            Method::PUT,
            "127.0.0.1",
            "/photos/k",
            &[("x-amz-copy-source", "/o/k")],
            Endpoint::CopyObject {
                bucket: b(),
                key: k("k"),
            },
        );
        check(
            Method::POST,
            "127.0.0.1",
            "/photos/k?uploads",
            &[],
            Endpoint::CreateMultipartUpload {
                bucket: b(),
                key: k("k"),
            },
        );
        check(
            Method::PUT,
            "127.0.0.1",
            "/photos/k?partNumber=2&uploadId=u",
            &[],
            Endpoint::UploadPart {
                bucket: b(),
                key: k("k"),
                upload_id: k("u"),
                part: k("2"),
            },
        );
        check(
            Method::POST,
            "127.0.0.1",
            "/photos?delete",
            &[],
            Endpoint::DeleteObjects { bucket: b() },
        );
        check(
            Method::GET,
            "127.0.0.1",
            "/photos?versioning",
            &[],
            Endpoint::Unsupported("bucket versioning".into()),
        );
        assert!(route(&req(Method::GET, "127.0.0.1", "/photos/%FF", &[])).is_err());
    }

    #[test]
    fn hosts() {
        assert_eq!(
            bucket_from_host("photos.localhost:4566").as_deref(),
            Some("photos")
        );
        assert_eq!(
            bucket_from_host("my.bucket.s3.us-east-1.amazonaws.com").as_deref(),
            Some("my.bucket")
        );
        assert_eq!(bucket_from_host("localhost:4566"), None);
        assert_eq!(bucket_from_host("s3.localhost"), None);
        assert_eq!(bucket_from_host("127.0.0.1:4566"), None);
    }
}
