//! AWS Signature Version 4: verifies signed requests (Authorization header and
//! presigned-URL forms) and signs requests for tests and internal clients.
//!
//! Canonicalisation follows what botocore, the AWS CLI and the AWS SDKs send,
//! because those clients are the ones whose signatures must verify here. The
//! crate does no IO and never reads the clock: the caller passes the current
//! time, which keeps verification deterministic and testable.

pub mod v2;
use std::borrow::Cow;

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
/// AWS rejects header-signed requests whose time is further than this from
/// the server clock.
const MAX_SKEW_SECS: i64 = 15 * 60;
/// Presigned URLs may live at most seven days.
const MAX_PRESIGN_EXPIRES: i64 = 7 * 24 * 60 * 60;
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Everything except the RFC 3986 unreserved characters gets percent-encoded;
/// SigV4 uses this one set for query keys, values and path segments.
const UNRESERVED_ONLY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Headers that proxies add, drop or rewrite in transit. botocore leaves them
/// out of the signature for that reason, and so does [`sign`].
const UNSIGNABLE_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// A request as it arrived, before any decoding.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Raw path as received on the wire, percent-encoded, no query.
    pub path: &'a str,
    /// Raw query string without '?', may be "".
    pub query: &'a str,
    /// Headers as received; names in any case; repeated names possible.
    pub headers: &'a [(&'a str, &'a str)],
}

/// The identity and scope of a request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key: String,
    /// YYYYMMDD, from the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    pub presigned: bool,
}

/// The credential scope a request claims, parsed without any crypto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    /// YYYYMMDD.
    pub date: String,
    pub region: String,
    pub service: String,
}

/// Why a request failed authentication. [`AuthError::code`] gives the generic
/// AWS error code; services that spell codes differently map them at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("Unsupported signing algorithm {0:?}; only AWS4-HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm(String),
    #[error("The security token included in the request is invalid (unknown access key id {0:?})")]
    UnknownAccessKey(String),
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method."
    )]
    SignatureMismatch,
    #[error("{}", skew_message(*request_unix, *now_unix))]
    Skewed { request_unix: i64, now_unix: i64 },
    #[error(
        "Request has expired: presigned URL expired at {}, server time is {}",
        format_amz_date(*expired_at_unix),
        format_amz_date(*now_unix)
    )]
    Expired { expired_at_unix: i64, now_unix: i64 },
    /// The signature is valid, but the body does not hash to the signed
    /// x-amz-content-sha256 value.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch,
}

impl AuthError {
    /// The generic AWS error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationToken",
            AuthError::Incomplete(_) | AuthError::UnsupportedAlgorithm(_) => "IncompleteSignature",
            AuthError::UnknownAccessKey(_) => "UnrecognizedClient",
            AuthError::SignatureMismatch => "SignatureDoesNotMatch",
            AuthError::Skewed { .. } => "RequestTimeTooSkewed",
            AuthError::Expired { .. } => "RequestExpired",
            AuthError::PayloadHashMismatch => "XAmzContentSHA256Mismatch",
        }
    }
}

/// Worded like AWS's own message, because SDKs and users search for it.
fn skew_message(request_unix: i64, now_unix: i64) -> String {
    let req = format_amz_date(request_unix);
    if request_unix < now_unix {
        format!(
            "Signature expired: {req} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now_unix.saturating_sub(MAX_SKEW_SECS)),
            format_amz_date(now_unix)
        )
    } else {
        format!(
            "Signature not yet current: {req} is still later than {} ({} + 15 min.)",
            format_amz_date(now_unix.saturating_add(MAX_SKEW_SECS)),
            format_amz_date(now_unix)
        )
    }
}

fn incomplete(msg: impl Into<String>) -> AuthError {
    AuthError::Incomplete(msg.into())
}

/// Parses only the credential scope (no crypto) so a router can pick the
/// service before reading the body. None when the request carries no SigV4
/// auth at all.
pub fn scope(req: &Request<'_>) -> Option<Result<Scope, AuthError>> {
    match parse_auth(req) {
        Ok(None) => None,
        Ok(Some(auth)) => Some(Ok(auth.scope)),
        Err(e) => Some(Err(e)),
    }
}

/// Verifies the request. `body` is the full body (used to hash the payload
/// unless the request carries x-amz-content-sha256, in which case that
/// header's value is used literally in the canonical request: hex hash,
/// UNSIGNED-PAYLOAD, or STREAMING-* values). `now_unix` is seconds since the
/// epoch. `secret_for` maps an access key id to its secret.
///
/// When x-amz-content-sha256 is a hex hash, the body must also hash to it
/// (checked after the signature), otherwise a signed header would vouch for
/// any body. STREAMING-* chunk signatures are not checked here.
pub fn verify(
    req: &Request<'_>,
    body: &[u8],
    now_unix: i64,
    secret_for: &dyn Fn(&str) -> Option<String>,
) -> Result<Verified, AuthError> {
    verify_inner(req, Some(body), now_unix, secret_for).map(|(v, _)| v)
}

/// How the body of a request verified by [`verify_deferred`] must still be checked, as
/// it streams in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadCheck {
    /// The body must hash (SHA-256) to this digest.
    Sha256([u8; 32]),
    /// Nothing to check: `UNSIGNED-PAYLOAD` or `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    Unsigned,
    /// `aws-chunked` with a signature per chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`,
    /// optionally `-TRAILER`): each chunk's signature chains from the previous one,
    /// starting at the request's own signature. See [`chunk_signature`].
    SignedChunks(ChunkSigner),
}

/// What verifying signed `aws-chunked` bodies needs.
#[derive(Clone, PartialEq, Eq)]
pub struct ChunkSigner {
    pub seed_signature: String,
    signing_key: [u8; 32],
    amz_date: String,
    scope: String,
    /// Whether a signed trailer follows the last chunk.
    pub trailer: bool,
}

impl std::fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signing key is a credential: never print it.
        f.debug_struct("ChunkSigner")
            .field("seed_signature", &self.seed_signature)
            .field("scope", &self.scope)
            .field("trailer", &self.trailer)
            .finish_non_exhaustive()
    }
}

impl ChunkSigner {
    /// The signature a chunk with this data must carry, given the previous signature.
    pub fn chunk_signature(&self, previous: &str, data: &[u8]) -> String {
        self.chunk_signature_of_hash(previous, &hex_sha256(data))
    }

    /// Like [`chunk_signature`](Self::chunk_signature), from the hex SHA-256 of the
    /// chunk's data (for callers that hash as the data streams).
    pub fn chunk_signature_of_hash(&self, previous: &str, data_sha256_hex: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            self.amz_date, self.scope, previous, EMPTY_SHA256_HEX, data_sha256_hex
        );
        hex::encode(hmac_sha256(&self.signing_key, sts.as_bytes()))
    }

    /// The signature of the trailer section (its `name:value\n` lines, as sent).
    pub fn trailer_signature(&self, previous: &str, trailer_lines: &str) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            previous,
            hex_sha256(trailer_lines.as_bytes())
        );
        hex::encode(hmac_sha256(&self.signing_key, sts.as_bytes()))
    }

    /// Compares signatures in constant time.
    pub fn matches(expected: &str, provided: &str) -> bool {
        expected.len() == provided.len()
            && expected
                .bytes()
                .zip(provided.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

const EMPTY_SHA256_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Verifies everything but the body, for requests whose body is streamed: the request
/// must declare its payload (`x-amz-content-sha256`, or be an S3 presigned URL), and the
/// returned [`PayloadCheck`] says what the body must still satisfy.
pub fn verify_deferred(
    req: &Request<'_>,
    now_unix: i64,
    secret_for: &dyn Fn(&str) -> Option<String>,
) -> Result<(Verified, PayloadCheck), AuthError> {
    verify_inner(req, None, now_unix, secret_for)
}

fn verify_inner(
    req: &Request<'_>,
    body: Option<&[u8]>,
    now_unix: i64,
    secret_for: &dyn Fn(&str) -> Option<String>,
) -> Result<(Verified, PayloadCheck), AuthError> {
    let auth = parse_auth(req)?.ok_or(AuthError::Missing)?;

    let (request_unix, amz_date) = match &auth.presign {
        Some(p) => {
            let unix = parse_amz_date(&p.date).ok_or_else(|| {
                incomplete(format!(
                    "X-Amz-Date {:?} is not a valid ISO 8601 basic timestamp",
                    p.date
                ))
            })?;
            (unix, Cow::Borrowed(&*p.date))
        }
        None => header_time(req.headers)?,
    };

    if auth.scope.date != amz_date[..8] {
        return Err(incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            auth.scope.date,
            &amz_date[..8],
            amz_date
        )));
    }

    let secret = secret_for(&auth.scope.access_key)
        .ok_or_else(|| AuthError::UnknownAccessKey(auth.scope.access_key.clone()))?;

    match &auth.presign {
        Some(p) => {
            let expires = parse_expires(&p.expires)?;
            if request_unix.saturating_sub(now_unix) > MAX_SKEW_SECS {
                return Err(AuthError::Skewed {
                    request_unix,
                    now_unix,
                });
            }
            if now_unix > request_unix + expires {
                return Err(AuthError::Expired {
                    expired_at_unix: request_unix + expires,
                    now_unix,
                });
            }
        }
        None => {
            if request_unix.abs_diff(now_unix) > MAX_SKEW_SECS.unsigned_abs() {
                return Err(AuthError::Skewed {
                    request_unix,
                    now_unix,
                });
            }
        }
    }

    let s3 = is_s3(&auth.scope.service);
    let declared_hash = first_header(req.headers, CONTENT_SHA256).map(str::trim);
    let body_hash;
    let payload_hash = match declared_hash {
        Some(h) => h,
        // S3 presigned URLs are created before the body is known, so every
        // client signs this constant instead; other services hash the body.
        None if auth.presign.is_some() && s3 => UNSIGNED_PAYLOAD,
        None => match body {
            Some(body) => {
                body_hash = hex_sha256(body);
                &body_hash
            }
            None => {
                return Err(incomplete(
                    "x-amz-content-sha256 is required for this request",
                ))
            }
        },
    };

    let canonical = Canonical {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signed_headers: &auth.signed_headers,
        payload_hash,
        s3,
        presigned: auth.presign.is_some(),
    };
    let scope = ScopeRef {
        date: &auth.scope.date,
        region: &auth.scope.region,
        service: &auth.scope.service,
    };
    let mac = signature_mac(&canonical, &secret, &scope, &amz_date)?;

    let mut provided = [0u8; 32];
    hex::decode_to_slice(auth.signature.as_bytes(), &mut provided)
        .map_err(|_| AuthError::SignatureMismatch)?;
    // verify_slice compares in constant time, so timing leaks nothing about
    // how many leading bytes of a forged signature were right.
    mac.verify_slice(&provided)
        .map_err(|_| AuthError::SignatureMismatch)?;

    let check = match (declared_hash, body) {
        (Some(declared), Some(body)) => {
            check_declared_payload(declared, body)?;
            PayloadCheck::Unsigned
        }
        (Some(d), None) if d.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => {
            PayloadCheck::SignedChunks(ChunkSigner {
                seed_signature: auth.signature.to_string(),
                signing_key: signing_key(&secret, &scope),
                amz_date: amz_date.to_string(),
                scope: format!(
                    "{}/{}/{}/aws4_request",
                    auth.scope.date, auth.scope.region, auth.scope.service
                ),
                trailer: d.ends_with("-TRAILER"),
            })
        }
        (Some(d), None) if d == UNSIGNED_PAYLOAD || d == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => {
            PayloadCheck::Unsigned
        }
        (Some(d), None) => {
            let mut expected = [0u8; 32];
            if hex::decode_to_slice(d, &mut expected).is_err() {
                return Err(incomplete(format!(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a SHA-256 hex digest, got {d:?}"
                )));
            }
            PayloadCheck::Sha256(expected)
        }
        (None, _) => PayloadCheck::Unsigned,
    };

    Ok((
        Verified {
            access_key: auth.scope.access_key,
            date: auth.scope.date,
            region: auth.scope.region,
            service: auth.scope.service,
            presigned: auth.presign.is_some(),
        },
        check,
    ))
}

/// Signs: returns the headers to add (authorization, x-amz-date, and
/// x-amz-content-sha256 for service "s3", which requires that header) — used
/// by tests and by internal clients.
///
/// `headers` must include `host`. Every given header is signed except the
/// hop-by-hop ones botocore also skips; a given authorization or x-amz-date is
/// ignored because this call produces fresh ones. A given
/// x-amz-content-sha256 (e.g. UNSIGNED-PAYLOAD) is signed as-is instead of
/// the body hash.
#[allow(clippy::too_many_arguments)] // the flat signature is the crate's public contract
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    now_unix: i64,
) -> Vec<(String, String)> {
    let amz_date = format_amz_date(now_unix);
    let date = &amz_date[..8];
    let s3 = is_s3(service);

    let declared_hash = first_header(headers, CONTENT_SHA256).map(str::trim);
    let body_hash;
    let payload_hash = match declared_hash {
        Some(h) => h,
        None => {
            body_hash = hex_sha256(body);
            &body_hash
        }
    };
    let add_hash_header = s3 && declared_hash.is_none();

    let mut all: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| {
            // A ';' would split the name apart inside SignedHeaders; no valid
            // header name contains one.
            !name.contains(';')
                && !name.eq_ignore_ascii_case("x-amz-date")
                && !UNSIGNABLE_HEADERS
                    .iter()
                    .any(|skip| name.eq_ignore_ascii_case(skip))
        })
        .copied()
        .collect();
    all.push(("x-amz-date", &amz_date));
    if add_hash_header {
        all.push((CONTENT_SHA256, payload_hash));
    }

    let mut names: Vec<String> = all.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    names.sort_unstable();
    names.dedup();
    let signed_headers = names.join(";");

    let canonical = Canonical {
        method,
        path,
        query,
        headers: &all,
        signed_headers: &signed_headers,
        payload_hash,
        s3,
        presigned: false,
    };
    let scope = ScopeRef {
        date,
        region,
        service,
    };
    let signature = signature_hex(&canonical, secret, &scope, &amz_date);

    let mut out = vec![
        (
            "authorization".to_string(),
            format!(
                "{ALGORITHM} Credential={access_key}/{date}/{region}/{service}/{TERMINATOR}, \
                 SignedHeaders={signed_headers}, Signature={signature}"
            ),
        ),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    if add_hash_header {
        out.push((CONTENT_SHA256.to_string(), payload_hash.to_string()));
    }
    out
}

/// Builds a presigned URL's query string (X-Amz-Algorithm..X-Amz-Signature)
/// for tests. Only `host` is signed, as the SDKs do by default.
#[allow(clippy::too_many_arguments)] // the flat signature is the crate's public contract
pub fn presign_query(
    method: &str,
    path: &str,
    host: &str,
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    now_unix: i64,
    expires_secs: u32,
) -> String {
    let amz_date = format_amz_date(now_unix);
    let date = &amz_date[..8];
    let credential = format!("{access_key}/{date}/{region}/{service}/{TERMINATOR}");
    let mut query = format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}&X-Amz-Date={amz_date}\
         &X-Amz-Expires={expires_secs}&X-Amz-SignedHeaders=host",
        percent_encode(credential.as_bytes(), UNRESERVED_ONLY)
    );
    let s3 = is_s3(service);
    let empty_hash;
    let payload_hash = if s3 {
        UNSIGNED_PAYLOAD
    } else {
        empty_hash = hex_sha256(b"");
        &empty_hash
    };
    let headers = [("host", host)];
    let canonical = Canonical {
        method,
        path,
        query: &query,
        headers: &headers,
        signed_headers: "host",
        payload_hash,
        s3,
        presigned: true,
    };
    let scope = ScopeRef {
        date,
        region,
        service,
    };
    let signature = signature_hex(&canonical, secret, &scope, &amz_date);
    query.push_str("&X-Amz-Signature=");
    query.push_str(&signature);
    query
}

// ---------------------------------------------------------------------------
// Parsing the auth parameters

/// The auth parameters of a request, whichever form carried them.
struct Auth<'a> {
    scope: Scope,
    signed_headers: Cow<'a, str>,
    signature: Cow<'a, str>,
    /// Present for the presigned-URL form only.
    presign: Option<PresignTime<'a>>,
}

struct PresignTime<'a> {
    date: Cow<'a, str>,
    expires: Cow<'a, str>,
}

fn parse_auth<'a>(req: &Request<'a>) -> Result<Option<Auth<'a>>, AuthError> {
    let mut authorization = None;
    for (name, value) in req.headers {
        if name.eq_ignore_ascii_case("authorization") {
            if authorization.is_some() {
                return Err(incomplete(
                    "Request carries more than one Authorization header.",
                ));
            }
            authorization = Some(*value);
        }
    }
    let presign = PresignParams::find(req.query)?;

    let auth = match (authorization, presign) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(incomplete(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter \
                 or the Authorization header should be specified.",
            ))
        }
        (Some(header), None) => parse_authorization(header)?,
        (None, Some(params)) => params.into_auth()?,
    };
    if !auth.signed_headers.split(';').any(|h| h == "host") {
        return Err(incomplete("'Host' must be a signed header."));
    }
    Ok(Some(auth))
}

fn parse_authorization(value: &str) -> Result<Auth<'_>, AuthError> {
    let value = value.trim();
    let (algorithm, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm(algorithm.to_string()));
    }

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "Authorization header parameter is not key=value: {part:?}"
            )));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => {
                return Err(incomplete(format!(
                    "Authorization header has unknown parameter {other:?}"
                )))
            }
        };
        if slot.replace(val.trim()).is_some() {
            return Err(incomplete(format!(
                "Authorization header repeats parameter {:?}",
                key.trim()
            )));
        }
    }

    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature))
            if !credential.is_empty() && !signed_headers.is_empty() && !signature.is_empty() =>
        {
            Ok(Auth {
                scope: parse_credential(credential)?,
                signed_headers: Cow::Borrowed(signed_headers),
                signature: Cow::Borrowed(signature),
                presign: None,
            })
        }
        (credential, signed_headers, signature) => {
            // Report every missing part at once, the way AWS words it.
            let mut msg = String::new();
            for (part, name) in [
                (credential, "Credential"),
                (signature, "Signature"),
                (signed_headers, "SignedHeaders"),
            ] {
                if part.is_none_or(str::is_empty) {
                    msg.push_str(&format!(
                        "Authorization header requires '{name}' parameter. "
                    ));
                }
            }
            msg.push_str(&format!("Authorization={value}"));
            Err(AuthError::Incomplete(msg))
        }
    }
}

/// The X-Amz-* parameters of a presigned URL, percent-decoded.
#[derive(Default)]
struct PresignParams<'a> {
    algorithm: Option<Cow<'a, str>>,
    credential: Option<Cow<'a, str>>,
    date: Option<Cow<'a, str>>,
    expires: Option<Cow<'a, str>>,
    signed_headers: Option<Cow<'a, str>>,
    signature: Option<Cow<'a, str>>,
}

impl<'a> PresignParams<'a> {
    /// None when the query has no X-Amz-Algorithm, i.e. is not presigned.
    fn find(query: &'a str) -> Result<Option<Self>, AuthError> {
        if !query.contains("X-Amz-") && !query.contains('%') {
            // Cheap exit for the common unsigned-query case.
            return Ok(None);
        }
        let mut params = PresignParams::default();
        for pair in query.split('&') {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode_str(raw_key).decode_utf8_lossy();
            let slot = match &*key {
                "X-Amz-Algorithm" => &mut params.algorithm,
                "X-Amz-Credential" => &mut params.credential,
                "X-Amz-Date" => &mut params.date,
                "X-Amz-Expires" => &mut params.expires,
                "X-Amz-SignedHeaders" => &mut params.signed_headers,
                "X-Amz-Signature" => &mut params.signature,
                _ => continue,
            };
            let value = percent_decode_str(raw_value)
                .decode_utf8()
                .map_err(|_| incomplete(format!("Query parameter {key} is not valid UTF-8")))?;
            if slot.replace(value).is_some() {
                return Err(incomplete(format!("Query parameter {key} is repeated")));
            }
        }
        Ok(params.algorithm.is_some().then_some(params))
    }

    fn into_auth(self) -> Result<Auth<'a>, AuthError> {
        let algorithm = self.algorithm.unwrap_or_default();
        if algorithm != ALGORITHM {
            return Err(AuthError::UnsupportedAlgorithm(algorithm.into_owned()));
        }
        match (
            self.credential,
            self.date,
            self.expires,
            self.signed_headers,
            self.signature,
        ) {
            (
                Some(credential),
                Some(date),
                Some(expires),
                Some(signed_headers),
                Some(signature),
            ) if !credential.is_empty()
                && !date.is_empty()
                && !expires.is_empty()
                && !signed_headers.is_empty()
                && !signature.is_empty() =>
            {
                Ok(Auth {
                    scope: parse_credential(&credential)?,
                    signed_headers,
                    signature,
                    presign: Some(PresignTime { date, expires }),
                })
            }
            (credential, date, expires, signed_headers, signature) => {
                let missing: Vec<&str> = [
                    (credential, "X-Amz-Credential"),
                    (date, "X-Amz-Date"),
                    (expires, "X-Amz-Expires"),
                    (signed_headers, "X-Amz-SignedHeaders"),
                    (signature, "X-Amz-Signature"),
                ]
                .into_iter()
                .filter(|(v, _)| v.as_deref().is_none_or(str::is_empty))
                .map(|(_, name)| name)
                .collect();
                Err(incomplete(format!(
                    "Query-string authentication requires the {} parameters",
                    missing.join(", ")
                )))
            }
        }
    }
}

/// `AKID/YYYYMMDD/region/service/aws4_request`.
fn parse_credential(credential: &str) -> Result<Scope, AuthError> {
    let mut parts = credential.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(incomplete(format!(
            "Credential should be of the form AKID/YYYYMMDD/region/service/aws4_request, got {credential:?}"
        )));
    };
    if terminator != TERMINATOR {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    if access_key.is_empty() || region.is_empty() || service.is_empty() {
        return Err(incomplete(format!(
            "Credential has an empty access key, region or service: {credential:?}"
        )));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential date {date:?} is not in YYYYMMDD form"
        )));
    }
    Ok(Scope {
        access_key: access_key.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    })
}

fn parse_expires(raw: &str) -> Result<i64, AuthError> {
    let secs = raw
        .parse::<i64>()
        .ok()
        .filter(|_| raw.bytes().all(|b| b.is_ascii_digit()));
    match secs {
        Some(s) if (1..=MAX_PRESIGN_EXPIRES).contains(&s) => Ok(s),
        _ => Err(incomplete(format!(
            "X-Amz-Expires must be a whole number of seconds from 1 to {MAX_PRESIGN_EXPIRES}, got {raw:?}"
        ))),
    }
}

/// Request time for header auth: X-Amz-Date, else the Date header. Returns the
/// time and its YYYYMMDDTHHMMSSZ form, which the string to sign uses either way.
fn header_time<'a>(headers: &[(&'a str, &'a str)]) -> Result<(i64, Cow<'a, str>), AuthError> {
    if let Some(raw) = first_header(headers, "x-amz-date") {
        let raw = raw.trim();
        let unix = parse_amz_date(raw).ok_or_else(|| {
            incomplete(format!(
                "X-Amz-Date {raw:?} is not a valid ISO 8601 basic timestamp (YYYYMMDDTHHMMSSZ)"
            ))
        })?;
        return Ok((unix, Cow::Borrowed(raw)));
    }
    if let Some(raw) = first_header(headers, "date") {
        let unix = parse_http_date(raw).ok_or_else(|| {
            incomplete(format!("Date header {raw:?} is not a valid RFC 1123 date"))
        })?;
        return Ok((unix, Cow::Owned(format_amz_date(unix))));
    }
    Err(incomplete(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    ))
}

fn first_header<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// Only a hex hash commits to the body; the literal forms (UNSIGNED-PAYLOAD,
/// STREAMING-*) are accepted as signed.
fn check_declared_payload(declared: &str, body: &[u8]) -> Result<(), AuthError> {
    if declared == UNSIGNED_PAYLOAD || declared.starts_with("STREAMING-") {
        return Ok(());
    }
    let mut expected = [0u8; 32];
    if hex::decode_to_slice(declared, &mut expected).is_err() {
        return Err(incomplete(format!(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a SHA-256 hex digest, got {declared:?}"
        )));
    }
    let actual: [u8; 32] = Sha256::digest(body).into();
    if actual == expected {
        Ok(())
    } else {
        Err(AuthError::PayloadHashMismatch)
    }
}

// ---------------------------------------------------------------------------
// Canonical request and signature

/// S3 signs the path exactly as sent; every other service encodes it again.
fn is_s3(service: &str) -> bool {
    service == "s3"
}

struct Canonical<'r> {
    method: &'r str,
    path: &'r str,
    query: &'r str,
    headers: &'r [(&'r str, &'r str)],
    signed_headers: &'r str,
    payload_hash: &'r str,
    s3: bool,
    presigned: bool,
}

struct ScopeRef<'r> {
    date: &'r str,
    region: &'r str,
    service: &'r str,
}

/// Where the canonical request goes: straight into the hash when verifying,
/// so no copy of it is built; into a buffer when tests want to read it.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

/// Writes the canonical request. Fails with SignatureMismatch when a signed
/// header is absent: the client signed something we did not receive.
fn write_canonical_request(c: &Canonical<'_>, out: &mut impl Sink) -> Result<(), AuthError> {
    out.put(c.method.as_bytes());
    out.put(b"\n");
    write_canonical_uri(c.path, c.s3, out);
    out.put(b"\n");
    out.put(canonical_query(c.query, c.presigned).as_bytes());
    out.put(b"\n");
    for name in c.signed_headers.split(';') {
        out.put(name.as_bytes());
        out.put(b":");
        let mut found = false;
        for (_, value) in c
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            if found {
                out.put(b",");
            }
            found = true;
            // Trim, and collapse inner whitespace runs to one space.
            for (i, word) in value.split_ascii_whitespace().enumerate() {
                if i > 0 {
                    out.put(b" ");
                }
                out.put(word.as_bytes());
            }
        }
        if !found {
            return Err(AuthError::SignatureMismatch);
        }
        out.put(b"\n");
    }
    out.put(b"\n");
    out.put(c.signed_headers.as_bytes());
    out.put(b"\n");
    out.put(c.payload_hash.as_bytes());
    Ok(())
}

/// S3: the path as received. Others: dot segments and empty segments removed
/// (as botocore does before signing), then each segment percent-encoded again,
/// so an `%3A` on the wire is signed as `%253A`.
fn write_canonical_uri(path: &str, s3: bool, out: &mut impl Sink) {
    if path.is_empty() {
        out.put(b"/");
        return;
    }
    if s3 {
        out.put(path.as_bytes());
        return;
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    if path.starts_with('/') {
        out.put(b"/");
    }
    for (i, segment) in kept.iter().enumerate() {
        if i > 0 {
            out.put(b"/");
        }
        for chunk in percent_encode(segment.as_bytes(), UNRESERVED_ONLY) {
            out.put(chunk.as_bytes());
        }
    }
    if path.ends_with('/') && !kept.is_empty() {
        out.put(b"/");
    }
}

/// Each key and value decoded then re-encoded with the unreserved set (so
/// `+` is a literal plus and becomes `%2B`), sorted by key then value.
fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // The signature cannot sign itself.
        if presigned && percent_decode_str(key).eq(b"X-Amz-Signature".iter().copied()) {
            continue;
        }
        pairs.push((reencode(key), reencode(value)));
    }
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn reencode(raw: &str) -> Cow<'_, str> {
    let already_canonical = raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if already_canonical {
        return Cow::Borrowed(raw);
    }
    let decoded: Cow<'_, [u8]> = percent_decode_str(raw).into();
    Cow::Owned(percent_encode(&decoded, UNRESERVED_ONLY).to_string())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn signing_key(secret: &str, scope: &ScopeRef<'_>) -> [u8; 32] {
    let mut seed = Vec::with_capacity(4 + secret.len());
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&seed, scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// The HMAC over the string to sign, not yet finalised, so the verifier can
/// compare in constant time and the signer can take the hex.
fn signature_mac(
    c: &Canonical<'_>,
    secret: &str,
    scope: &ScopeRef<'_>,
    amz_date: &str,
) -> Result<HmacSha256, AuthError> {
    let mut hasher = Sha256::new();
    write_canonical_request(c, &mut hasher)?;
    let mut creq_hex = [0u8; 64];
    hex::encode_to_slice(hasher.finalize(), &mut creq_hex).expect("64 bytes hold a SHA-256 in hex");

    let key = signing_key(secret, scope);
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC accepts keys of any length");
    for piece in [
        ALGORITHM.as_bytes(),
        b"\n",
        amz_date.as_bytes(),
        b"\n",
        scope.date.as_bytes(),
        b"/",
        scope.region.as_bytes(),
        b"/",
        scope.service.as_bytes(),
        b"/",
        TERMINATOR.as_bytes(),
        b"\n",
        &creq_hex,
    ] {
        mac.update(piece);
    }
    Ok(mac)
}

fn signature_hex(c: &Canonical<'_>, secret: &str, scope: &ScopeRef<'_>, amz_date: &str) -> String {
    match signature_mac(c, secret, scope, amz_date) {
        Ok(mac) => hex::encode(mac.finalize().into_bytes()),
        // Only a signed header missing from `headers` fails, and the signers
        // derive the signed list from those very headers.
        Err(e) => unreachable!("signing own headers cannot fail: {e}"),
    }
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

// ---------------------------------------------------------------------------
// Civil time, UTC only. Public because the other crates share this calendar
// arithmetic (through `wire::time`) instead of keeping copies.

/// Days since 1970-01-01 of a proleptic Gregorian date. Works in 400-year
/// eras (146097 days each) counted from March, which puts the leap day last
/// in the year and keeps the month arithmetic linear.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719468 = days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn unix_from_parts(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && h < 24
        && m < 60
        && s < 60;
    valid.then(|| {
        days_from_civil(year, month, day) * 86_400
            + i64::from(h) * 3600
            + i64::from(m) * 60
            + i64::from(s)
    })
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// `YYYYMMDDTHHMMSSZ` to seconds since the epoch.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    unix_from_parts(
        i64::from(digits(&b[0..4])?),
        digits(&b[4..6])?,
        digits(&b[6..8])?,
        digits(&b[9..11])?,
        digits(&b[11..13])?,
        digits(&b[13..15])?,
    )
}

/// Seconds since the epoch to `YYYYMMDDTHHMMSSZ`.
fn format_amz_date(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// RFC 1123 / RFC 2822 dates such as `Sun, 06 Nov 1994 08:49:37 GMT` or
/// `Sun, 30 Aug 2015 12:36:00 -0000` (botocore's form); the weekday is
/// optional and not checked.
fn parse_http_date(s: &str) -> Option<i64> {
    let mut fields = s.split_ascii_whitespace().peekable();
    if fields.peek()?.ends_with(',') {
        fields.next();
    }
    let day = digits(fields.next()?.as_bytes())?;
    let month_name = fields.next()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(month_name))? as u32
        + 1;
    let year_field = fields.next()?;
    if year_field.len() != 4 {
        return None;
    }
    let year = i64::from(digits(year_field.as_bytes())?);
    let mut hms = fields.next()?.split(':');
    let (h, m, sec) = (
        digits(hms.next()?.as_bytes())?,
        digits(hms.next()?.as_bytes())?,
        digits(hms.next()?.as_bytes())?,
    );
    if hms.next().is_some() {
        return None;
    }
    let offset = match fields.next()? {
        "GMT" | "UTC" | "UT" | "Z" => 0,
        zone => {
            let b = zone.as_bytes();
            if b.len() != 5 {
                return None;
            }
            let sign = match b[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (digits(&b[1..3])?, digits(&b[3..5])?);
            if om >= 60 {
                return None;
            }
            sign * (i64::from(oh) * 3600 + i64::from(om) * 60)
        }
    };
    if fields.next().is_some() {
        return None;
    }
    // A local time of +HHMM is that much ahead of UTC.
    Some(unix_from_parts(year, month, day, h, m, sec)? - offset)
}

#[cfg(test)]
mod tests;
