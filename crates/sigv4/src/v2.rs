//! S3's older Signature Version 2, which boto3 still uses for presigned URLs by default:
//! the query form (`AWSAccessKeyId`, `Expires`, `Signature`) and the header form
//! (`Authorization: AWS key:signature`). HMAC-SHA1 over method, content headers, expiry
//! or date, the `x-amz-*` headers and the resource.

use crate::{first_header, parse_http_date, AuthError, Request, Verified};
use base64::Engine;
use hmac::{Hmac, Mac};

/// Sub-resources that are part of the signed resource, in the order S3 sorts them.
const SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "partNumber",
    "policy",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The credentials a version-2 request names: (access key, signature, expires), the
/// expiry only for the query form.
fn credentials<'a>(req: &Request<'a>) -> Option<(String, String, Option<i64>)> {
    let q = |name: &str| {
        req.query.split('&').find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k == name).then(|| {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
        })
    };
    if let (Some(k), Some(s)) = (q("AWSAccessKeyId"), q("Signature")) {
        let expires = q("Expires").and_then(|e| e.parse().ok()).unwrap_or(0);
        return Some((k, s.replace(' ', "+"), Some(expires)));
    }
    let auth = first_header(req.headers, "authorization")?;
    let rest = auth.strip_prefix("AWS ")?;
    let (k, s) = rest.split_once(':')?;
    Some((k.trim().to_string(), s.trim().to_string(), None))
}

/// Whether the request is signed with version 2.
pub fn is_v2(req: &Request<'_>) -> bool {
    credentials(req).is_some()
}

/// Verifies a version-2 request. `bucket_from_host` is the bucket a virtual-hosted
/// Host header names, which the signed resource starts with.
pub fn verify(
    req: &Request<'_>,
    bucket_from_host: Option<&str>,
    now_unix: i64,
    secret_for: &dyn Fn(&str) -> Option<String>,
) -> Result<Verified, AuthError> {
    let (key, signature, expires) = credentials(req).ok_or(AuthError::Missing)?;
    let secret = secret_for(&key).ok_or_else(|| AuthError::UnknownAccessKey(key.clone()))?;
    let date_line = match expires {
        Some(e) => {
            if now_unix > e {
                return Err(AuthError::Expired {
                    expired_at_unix: e,
                    now_unix,
                });
            }
            e.to_string()
        }
        None => {
            // With x-amz-date present the Date line is empty: the header is signed below.
            if first_header(req.headers, "x-amz-date").is_some() {
                String::new()
            } else {
                let d = first_header(req.headers, "date")
                    .ok_or_else(|| AuthError::Incomplete("Date header is required".into()))?;
                let t = parse_http_date(d)
                    .ok_or_else(|| AuthError::Incomplete(format!("Invalid Date header {d:?}")))?;
                if (t - now_unix).abs() > 15 * 60 {
                    return Err(AuthError::Skewed {
                        request_unix: t,
                        now_unix,
                    });
                }
                d.to_string()
            }
        }
    };
    let sts = string_to_sign(req, bucket_from_host, &date_line);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key size");
    mac.update(sts.as_bytes());
    let provided = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| AuthError::SignatureMismatch)?;
    mac.verify_slice(&provided)
        .map_err(|_| AuthError::SignatureMismatch)?;
    Ok(Verified {
        access_key: key,
        date: String::new(),
        region: "us-east-1".into(),
        service: "s3".into(),
        presigned: expires.is_some(),
    })
}

fn string_to_sign(req: &Request<'_>, bucket_from_host: Option<&str>, date_line: &str) -> String {
    let h = |n: &str| {
        first_header(req.headers, n)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut amz: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers {
        let name = name.to_ascii_lowercase();
        if name.starts_with("x-amz-") {
            match amz.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(value.trim());
                }
                None => amz.push((name, value.trim().to_string())),
            }
        }
    }
    amz.sort();
    let mut out = format!(
        "{}\n{}\n{}\n{}\n",
        req.method,
        h("content-md5"),
        h("content-type"),
        date_line
    );
    for (n, v) in amz {
        out.push_str(&format!("{n}:{v}\n"));
    }
    if let Some(b) = bucket_from_host {
        out.push('/');
        out.push_str(b);
    }
    out.push_str(if req.path.is_empty() { "/" } else { req.path });
    let mut subs: Vec<(String, Option<String>)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p, None),
            };
            SUBRESOURCES.contains(&k).then(|| {
                (
                    k.to_string(),
                    v.map(|v| {
                        percent_encoding::percent_decode_str(v)
                            .decode_utf8_lossy()
                            .into_owned()
                    }),
                )
            })
        })
        .collect();
    subs.sort();
    for (i, (k, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from AWS's S3 Signature Version 2 documentation (Object GET).
    #[test]
    fn documented_example() {
        let headers = [
            ("Host", "awsexamplebucket1.us-west-1.s3.amazonaws.com"),
            ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
        ];
        let req = Request {
            method: "GET",
            path: "/photos/puppy.jpg",
            query: "",
            headers: &headers,
        };
        let sts = string_to_sign(
            &req,
            Some("awsexamplebucket1"),
            "Tue, 27 Mar 2007 19:36:42 +0000",
        );
        assert_eq!(
            sts,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
        );
        let mut mac =
            Hmac::<sha1::Sha1>::new_from_slice(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
                .unwrap();
        mac.update(sts.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(sig, "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
    }

    #[test]
    fn presigned_round_trip_and_expiry() {
        let secret = "s3cr3t";
        let sts = "GET\n\n\n1700000100\n/b/k%20x?response-content-type=text/plain";
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(sts.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let enc: String =
            percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let query = format!("AWSAccessKeyId=AK&Expires=1700000100&Signature={enc}&response-content-type=text%2Fplain");
        let headers = [("host", "127.0.0.1:4566")];
        let req = Request {
            method: "GET",
            path: "/b/k%20x",
            query: &query,
            headers: &headers,
        };
        assert!(is_v2(&req));
        let lookup = |k: &str| (k == "AK").then(|| secret.to_string());
        assert!(verify(&req, None, 1_700_000_000, &lookup).is_ok());
        assert!(matches!(
            verify(&req, None, 1_700_000_200, &lookup),
            Err(AuthError::Expired { .. })
        ));
        let tampered = Request {
            path: "/b/other",
            ..req
        };
        assert_eq!(
            verify(&tampered, None, 1_700_000_000, &lookup),
            Err(AuthError::SignatureMismatch)
        );
    }
}
