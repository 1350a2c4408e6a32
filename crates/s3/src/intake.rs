//! Receiving an upload's body: streamed into a blob while MD5, the payload SHA-256 and
//! the flexible checksum are computed in the same pass, `aws-chunked` framing decoded and
//! its chunk signatures checked, and every declared length and digest verified before
//! anything becomes visible.

use crate::checksum::{self, ChecksumAlgorithm, Digests, Hasher};
use crate::chunked::ChunkedDecoder;
use crate::error::{Result, S3Error};
use http::StatusCode;
use sha2::Digest;
use sigv4::PayloadCheck;
use store::{BlobStore, BlobWrite};
use wire::ApiRequest;

/// A body received into an uncommitted blob.
pub struct Intake {
    pub blob: Box<dyn BlobWrite>,
    pub digests: Digests,
    pub len: u64,
    /// The flexible checksum the client declared (header or trailer), already verified.
    pub declared_checksum: Option<(ChecksumAlgorithm, String)>,
}

fn header_u64(req: &ApiRequest, name: &str) -> Result<Option<u64>> {
    match req.header(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| S3Error::invalid_argument(format!("{name} is not a number"))),
    }
}

fn too_large(limit: u64) -> S3Error {
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        format!("Your proposed upload exceeds the maximum allowed size ({limit} bytes)"),
    )
}

fn incomplete() -> S3Error {
    S3Error::new(
        StatusCode::BAD_REQUEST,
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    )
}

fn signature_mismatch() -> S3Error {
    S3Error::new(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
}

/// Checks signed chunks as their data streams by.
struct ChunkVerifier {
    signer: sigv4::ChunkSigner,
    previous: String,
    hash: sha2::Sha256,
    fed: usize,
}

impl ChunkVerifier {
    fn feed(&mut self, decoder: &mut ChunkedDecoder, out: &[u8]) -> Result<()> {
        let mut pos = 0;
        for chunk in decoder.take_completed_chunks() {
            let need = chunk.size - self.fed;
            let take = need.min(out.len() - pos);
            self.hash.update(&out[pos..pos + take]);
            pos += take;
            let digest = hex::encode(std::mem::take(&mut self.hash).finalize());
            self.fed = 0;
            let expected = self.signer.chunk_signature_of_hash(&self.previous, &digest);
            match chunk.signature {
                Some(sig) if sigv4::ChunkSigner::matches(&expected, &sig) => self.previous = sig,
                _ => return Err(signature_mismatch()),
            }
        }
        self.hash.update(&out[pos..]);
        self.fed += out.len() - pos;
        Ok(())
    }
}

/// Receives the request's body into a new blob, verifying everything it declares.
pub async fn receive(req: &mut ApiRequest, blobs: &dyn BlobStore, limit: u64) -> Result<Intake> {
    let declared_header = checksum::checksum_header(&req.headers)
        .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    let content_sha = req.header("x-amz-content-sha256").unwrap_or("").to_string();
    let chunked = req
        .header("content-encoding")
        .is_some_and(|e| e.split(',').any(|p| p.trim() == "aws-chunked"))
        || content_sha.starts_with("STREAMING-");
    let trailer_alg = req
        .header("x-amz-trailer")
        .map(|t| {
            ChecksumAlgorithm::from_header_name(t.trim())
                .ok_or_else(|| S3Error::invalid_argument(format!("Unsupported x-amz-trailer {t}")))
        })
        .transpose()?;
    let sdk_alg = req
        .header("x-amz-sdk-checksum-algorithm")
        .or_else(|| req.header("x-amz-checksum-algorithm"))
        .map(|a| {
            ChecksumAlgorithm::parse(a).ok_or_else(|| {
                S3Error::invalid_argument(format!("Checksum algorithm {a} is not supported"))
            })
        })
        .transpose()?;
    let alg = declared_header
        .as_ref()
        .map(|(a, _)| *a)
        .or(trailer_alg)
        .or(sdk_alg);

    let content_length = header_u64(req, "content-length")?;
    let decoded_length = header_u64(req, "x-amz-decoded-content-length")?;
    let expected_len = if chunked {
        decoded_length
    } else {
        content_length
    };
    if let Some(n) = expected_len {
        if n > limit {
            return Err(too_large(limit));
        }
    }
    if chunked && decoded_length.is_none() {
        return Err(S3Error::new(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        ));
    }

    let (mut reader, check) = match req.stream.take() {
        Some(s) => (Some(s.reader), s.check),
        None => (None, PayloadCheck::Unsigned),
    };
    let mut hasher = Hasher::new(matches!(check, PayloadCheck::Sha256(_)), alg);
    let mut verifier = match (&check, chunked) {
        (PayloadCheck::SignedChunks(signer), true) => Some(ChunkVerifier {
            previous: signer.seed_signature.clone(),
            signer: signer.clone(),
            hash: sha2::Sha256::new(),
            fed: 0,
        }),
        (PayloadCheck::SignedChunks(_), false) => {
            return Err(S3Error::invalid_request(
                "A streaming signature needs an aws-chunked body",
            ))
        }
        _ => None,
    };
    let mut decoder = chunked.then(|| ChunkedDecoder::new(decoded_length));
    let mut blob = blobs.writer()?;
    let mut out = Vec::with_capacity(64 * 1024);
    let mut buffered = Some(std::mem::take(&mut req.body)).filter(|b| !b.is_empty());
    loop {
        let piece = match (&mut reader, buffered.take()) {
            (_, Some(b)) => b,
            (Some(r), None) => match r.next_chunk().await {
                Some(Ok(b)) => b,
                Some(Err(_)) => return Err(incomplete()),
                None => break,
            },
            (None, None) => break,
        };
        let data: &[u8] = match decoder.as_mut() {
            Some(d) => {
                out.clear();
                d.push(&piece, &mut out)
                    .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
                if let Some(v) = verifier.as_mut() {
                    v.feed(d, &out)?;
                }
                &out
            }
            None => &piece,
        };
        hasher.update(data);
        blob.write(data)?;
        if blob.len() > limit {
            return Err(too_large(limit));
        }
    }
    let mut trailer_checksum = None;
    if let Some(d) = decoder {
        let decoded = d
            .finish()
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
        if let Some(v) = verifier.as_mut() {
            // The final chunk was reported when its header arrived; anything left over
            // would be a chunk that was never signed.
            for chunk in decoded.chunks.iter() {
                let expected = v
                    .signer
                    .chunk_signature_of_hash(&v.previous, &hex::encode(sha2::Sha256::digest(b"")));
                match &chunk.signature {
                    Some(sig) if chunk.size == 0 && sigv4::ChunkSigner::matches(&expected, sig) => {
                        v.previous = sig.clone()
                    }
                    _ => return Err(signature_mismatch()),
                }
            }
            if v.signer.trailer {
                let lines: String = decoded
                    .trailers
                    .iter()
                    .filter(|(n, _)| n != "x-amz-trailer-signature")
                    .map(|(n, val)| format!("{n}:{val}\n"))
                    .collect();
                let expected = v.signer.trailer_signature(&v.previous, &lines);
                match decoded.trailer("x-amz-trailer-signature") {
                    Some(sig) if sigv4::ChunkSigner::matches(&expected, sig) => {}
                    _ => return Err(signature_mismatch()),
                }
            }
        }
        if let Some(a) = trailer_alg {
            let value = decoded.trailer(a.header_name()).ok_or_else(|| {
                S3Error::invalid_request(format!(
                    "The trailer {} was declared but not sent",
                    a.header_name()
                ))
            })?;
            trailer_checksum = Some((a, value.to_string()));
        }
    }
    let len = blob.len();
    if let Some(n) = expected_len {
        if len != n {
            return Err(incomplete());
        }
    }
    let digests = hasher.finish();
    if let PayloadCheck::Sha256(expected) = check {
        if digests.sha256 != Some(expected) {
            return Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }
    }
    if let Some(md5) = req.header("content-md5") {
        checksum::content_md5_check(md5, &digests.md5)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    }
    let declared = declared_header.or(trailer_checksum);
    if let (Some((a, expected)), Some((_, actual))) = (&declared, &digests.checksum) {
        checksum::checksum_check(*a, expected, actual)
            .map_err(|e| S3Error::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    }
    Ok(Intake {
        blob,
        digests,
        len,
        declared_checksum: declared,
    })
}
