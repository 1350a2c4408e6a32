//! Payload integrity: MD5 for ETags and `Content-MD5`, SHA-256 for signed payloads, and
//! S3's flexible checksums (CRC32, CRC32C, SHA1, SHA256, CRC64NVME), with the ETag and
//! composite checksum S3 gives a multipart object.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;
use thiserror::Error;

/// A flexible checksum algorithm a client may ask S3 to verify and store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Sha1,
    Sha256,
    Crc64Nvme,
}

impl ChecksumAlgorithm {
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Crc64Nvme,
    ];

    /// The name as S3 writes it, in `x-amz-sdk-checksum-algorithm`, `ChecksumAlgorithm`
    /// elements and error messages.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
        }
    }

    /// Parses an algorithm name (`CRC32`, `crc32c`, ...), ignoring case as S3 does for
    /// `x-amz-sdk-checksum-algorithm` and `x-amz-checksum-algorithm`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The header carrying this checksum, also the trailer name in `x-amz-trailer`.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }

    /// The algorithm whose checksum header (or trailer) is `name`, ignoring case.
    pub fn from_header_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.header_name().eq_ignore_ascii_case(name.trim()))
    }

    /// The XML element holding this checksum in S3 bodies (`ChecksumCRC32`, ...).
    pub fn xml_element(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "ChecksumCRC32",
            ChecksumAlgorithm::Crc32c => "ChecksumCRC32C",
            ChecksumAlgorithm::Sha1 => "ChecksumSHA1",
            ChecksumAlgorithm::Sha256 => "ChecksumSHA256",
            ChecksumAlgorithm::Crc64Nvme => "ChecksumCRC64NVME",
        }
    }

    /// The algorithm whose XML element is `name` (exact case, as XML is case-sensitive).
    pub fn from_xml_element(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.xml_element() == name)
    }

    /// Length of the raw digest in bytes; the base64 form must decode to exactly this.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
            ChecksumAlgorithm::Crc64Nvme => 8,
        }
    }

    /// Whether S3 can give a multipart object a COMPOSITE checksum of this algorithm.
    /// CRC64NVME exists only as a FULL_OBJECT checksum.
    pub fn supports_composite(self) -> bool {
        self != ChecksumAlgorithm::Crc64Nvme
    }
}

impl std::fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An integrity check that failed, with S3's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntegrityError {
    #[error("The Content-MD5 you specified was invalid.")]
    InvalidDigest,
    #[error("The Content-MD5 you specified did not match what we received.")]
    BadDigest,
    #[error("The {0} you specified did not match the calculated checksum.")]
    ChecksumMismatch(ChecksumAlgorithm),
    #[error("Value for {} header is invalid.", .0.header_name())]
    InvalidChecksum(ChecksumAlgorithm),
    #[error("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")]
    MultipleChecksums,
}

impl IntegrityError {
    /// The S3 error code sent in `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            IntegrityError::InvalidDigest => "InvalidDigest",
            IntegrityError::BadDigest | IntegrityError::ChecksumMismatch(_) => "BadDigest",
            IntegrityError::InvalidChecksum(_) | IntegrityError::MultipleChecksums => {
                "InvalidRequest"
            }
        }
    }
}

/// Checks a `Content-MD5` header, base64 of the 16-byte digest, against the body's MD5.
pub fn content_md5_check(header: &str, md5: &[u8; 16]) -> Result<(), IntegrityError> {
    let claimed = B64
        .decode(header.trim())
        .map_err(|_| IntegrityError::InvalidDigest)?;
    if claimed.len() != 16 {
        return Err(IntegrityError::InvalidDigest);
    }
    if claimed.as_slice() != md5 {
        return Err(IntegrityError::BadDigest);
    }
    Ok(())
}

/// Decodes a base64 checksum value, requiring the digest length of `alg`.
pub fn decode_checksum(alg: ChecksumAlgorithm, b64: &str) -> Option<Vec<u8>> {
    B64.decode(b64.trim())
        .ok()
        .filter(|raw| raw.len() == alg.digest_len())
}

/// Checks a checksum the client sent (`expected_b64`) against the one computed over
/// the payload (`actual_b64`, as `Digests::checksum` gives it).
pub fn checksum_check(
    alg: ChecksumAlgorithm,
    expected_b64: &str,
    actual_b64: &str,
) -> Result<(), IntegrityError> {
    let expected =
        decode_checksum(alg, expected_b64).ok_or(IntegrityError::InvalidChecksum(alg))?;
    // Comparing decoded bytes makes the check indifferent to how the text was written.
    match decode_checksum(alg, actual_b64) {
        Some(actual) if actual == expected => Ok(()),
        _ => Err(IntegrityError::ChecksumMismatch(alg)),
    }
}

/// The one `x-amz-checksum-*` header among `headers`, if any, with its value. S3 refuses
/// a request carrying more than one, and a value that is not a well-formed digest.
pub fn checksum_header(
    headers: &http::HeaderMap,
) -> Result<Option<(ChecksumAlgorithm, String)>, IntegrityError> {
    let mut found = None;
    for alg in ChecksumAlgorithm::ALL {
        let Some(value) = headers.get(alg.header_name()) else {
            continue;
        };
        if found.is_some() {
            return Err(IntegrityError::MultipleChecksums);
        }
        let text = value
            .to_str()
            .ok()
            .filter(|t| decode_checksum(alg, t).is_some())
            .ok_or(IntegrityError::InvalidChecksum(alg))?;
        found = Some((alg, text.trim().to_string()));
    }
    Ok(found)
}

/// An S3 ETag for a single-part object: the hex MD5 in double quotes.
pub fn etag_of(md5: &[u8; 16]) -> String {
    format!("\"{}\"", hex::encode(md5))
}

/// The ETag of a multipart object: the MD5 of the concatenated part MD5s, a dash and
/// the number of parts, in double quotes.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut md5 = Md5::new();
    for part in part_md5s {
        md5.update(part);
    }
    format!("\"{}-{}\"", hex::encode(md5.finalize()), part_md5s.len())
}

/// S3's COMPOSITE checksum of a multipart object: the algorithm applied to the
/// concatenated raw part checksums, in base64, then a dash and the number of parts.
/// `None` for CRC64NVME (full-object only), no parts, or a malformed part checksum.
pub fn composite_checksum(alg: ChecksumAlgorithm, part_checksums_b64: &[String]) -> Option<String> {
    if !alg.supports_composite() || part_checksums_b64.is_empty() {
        return None;
    }
    let mut state = FlexState::new(alg);
    for part in part_checksums_b64 {
        state.update(&decode_checksum(alg, part)?);
    }
    Some(format!("{}-{}", state.finish(), part_checksums_b64.len()))
}

/// The base64 checksum of `data`, as a client would send it.
pub fn checksum_of(alg: ChecksumAlgorithm, data: &[u8]) -> String {
    let mut state = FlexState::new(alg);
    state.update(data);
    state.finish()
}

/// Everything a stored payload needs to know about its bytes, computed in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub md5: [u8; 16],
    pub sha256: Option<[u8; 32]>,
    /// The flexible checksum, base64 of its big-endian value as clients send it.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// Feeds a payload once to MD5 (always, for the ETag), SHA-256 (when the signature
/// covers the payload hash) and at most one flexible checksum.
pub struct Hasher {
    md5: Md5,
    sha256: Option<Sha256>,
    checksum: Option<FlexState>,
    /// A SHA256 flexible checksum reuses the payload SHA-256 instead of hashing twice.
    checksum_is_payload_sha256: bool,
}

impl Hasher {
    pub fn new(sha256: bool, checksum: Option<ChecksumAlgorithm>) -> Self {
        let shared = sha256 && checksum == Some(ChecksumAlgorithm::Sha256);
        Hasher {
            md5: Md5::new(),
            sha256: sha256.then(Sha256::new),
            checksum: checksum.filter(|_| !shared).map(FlexState::new),
            checksum_is_payload_sha256: shared,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        if let Some(sha) = &mut self.sha256 {
            sha.update(data);
        }
        if let Some(state) = &mut self.checksum {
            state.update(data);
        }
    }

    pub fn finish(self) -> Digests {
        let sha256: Option<[u8; 32]> = self.sha256.map(|s| s.finalize().into());
        let checksum = match (self.checksum, self.checksum_is_payload_sha256, sha256) {
            (Some(state), _, _) => Some((state.algorithm(), state.finish())),
            (None, true, Some(digest)) => Some((ChecksumAlgorithm::Sha256, B64.encode(digest))),
            _ => None,
        };
        Digests {
            md5: self.md5.finalize().into(),
            sha256,
            checksum,
        }
    }
}

/// The running state of one flexible checksum.
enum FlexState {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Sha1(Sha1),
    Sha256(Sha256),
    Crc64Nvme(Crc64Nvme),
}

impl FlexState {
    fn new(alg: ChecksumAlgorithm) -> Self {
        match alg {
            ChecksumAlgorithm::Crc32 => FlexState::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => FlexState::Crc32c(0),
            ChecksumAlgorithm::Sha1 => FlexState::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => FlexState::Sha256(Sha256::new()),
            ChecksumAlgorithm::Crc64Nvme => FlexState::Crc64Nvme(Crc64Nvme::new()),
        }
    }

    fn algorithm(&self) -> ChecksumAlgorithm {
        match self {
            FlexState::Crc32(_) => ChecksumAlgorithm::Crc32,
            FlexState::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            FlexState::Sha1(_) => ChecksumAlgorithm::Sha1,
            FlexState::Sha256(_) => ChecksumAlgorithm::Sha256,
            FlexState::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            FlexState::Crc32(h) => h.update(data),
            FlexState::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, data),
            FlexState::Sha1(h) => h.update(data),
            FlexState::Sha256(h) => h.update(data),
            FlexState::Crc64Nvme(h) => h.update(data),
        }
    }

    /// Base64 of the big-endian digest, the form S3 and the SDKs exchange.
    fn finish(self) -> String {
        match self {
            FlexState::Crc32(h) => B64.encode(h.finalize().to_be_bytes()),
            FlexState::Crc32c(crc) => B64.encode(crc.to_be_bytes()),
            FlexState::Sha1(h) => B64.encode(h.finalize()),
            FlexState::Sha256(h) => B64.encode(h.finalize()),
            FlexState::Crc64Nvme(h) => B64.encode(h.finish().to_be_bytes()),
        }
    }
}

/// CRC-64/NVME: reflected, polynomial 0xAD93D23594C93659, initial value and final xor
/// all ones. No dependency offers it, so it is computed here with slicing-by-8 tables.
#[derive(Debug, Clone)]
pub struct Crc64Nvme {
    state: u64,
}

/// The polynomial bit-reversed, as a reflected CRC shifts right.
const CRC64_NVME_POLY: u64 = 0xAD93_D235_94C9_3659u64.reverse_bits();

/// `TABLES[0]` is the classic byte table; `TABLES[k][b]` is the CRC of byte `b`
/// followed by `k` zero bytes, which lets eight input bytes be folded per step.
static CRC64_NVME_TABLES: [[u64; 256]; 8] = crc64_tables();

const fn crc64_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC64_NVME_POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

impl Default for Crc64Nvme {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc64Nvme {
    pub fn new() -> Self {
        Crc64Nvme { state: !0 }
    }

    pub fn update(&mut self, data: &[u8]) {
        let t = &CRC64_NVME_TABLES;
        let mut crc = self.state;
        let mut blocks = data.chunks_exact(8);
        for block in &mut blocks {
            let mut word = [0u8; 8];
            word.copy_from_slice(block);
            crc ^= u64::from_le_bytes(word);
            crc = t[7][(crc & 0xff) as usize]
                ^ t[6][((crc >> 8) & 0xff) as usize]
                ^ t[5][((crc >> 16) & 0xff) as usize]
                ^ t[4][((crc >> 24) & 0xff) as usize]
                ^ t[3][((crc >> 32) & 0xff) as usize]
                ^ t[2][((crc >> 40) & 0xff) as usize]
                ^ t[1][((crc >> 48) & 0xff) as usize]
                ^ t[0][(crc >> 56) as usize];
        }
        for &byte in blocks.remainder() {
            crc = t[0][((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8);
        }
        self.state = crc;
    }

    pub fn finish(&self) -> u64 {
        !self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum of `data` in one piece and fed in uneven pieces must both be `b64`.
    fn check(alg: ChecksumAlgorithm, data: &[u8], b64: &str) {
        assert_eq!(checksum_of(alg, data), b64, "{alg} of {data:?}");
        for split in [1, 3, 7, 8, 9, 64] {
            let mut hasher = Hasher::new(false, Some(alg));
            for piece in data.chunks(split) {
                hasher.update(piece);
            }
            let got = hasher.finish().checksum.unwrap();
            assert_eq!(got, (alg, b64.to_string()), "{alg} in pieces of {split}");
        }
    }

    fn b64_of_be(value: u64, len: usize) -> String {
        B64.encode(&value.to_be_bytes()[8 - len..])
    }

    #[test]
    fn known_vectors() {
        use ChecksumAlgorithm::*;
        // botocore sends this for "hello world".
        check(Crc32, b"hello world", "DUoRhQ==");
        check(Crc32, b"123456789", &b64_of_be(0xCBF4_3926, 4));
        check(Crc32c, b"123456789", &b64_of_be(0xE306_9283, 4));
        check(
            Crc64Nvme,
            b"123456789",
            &b64_of_be(0xAE8B_1486_0A79_9888, 8),
        );
        check(Crc32, b"", "AAAAAA==");
        check(Crc32c, b"", "AAAAAA==");
        check(Crc64Nvme, b"", "AAAAAAAAAAA=");
        check(
            Sha1,
            b"abc",
            &B64.encode(hex::decode("a9993e364706816aba3e25717850c26c9cd0d89d").unwrap()),
        );
        check(
            Sha256,
            b"",
            &B64.encode(
                hex::decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                    .unwrap(),
            ),
        );
    }

    /// Straight bit-by-bit CRC-64/NVME, to check the table-driven one on many lengths.
    fn crc64_bitwise(data: &[u8]) -> u64 {
        let mut crc = !0u64;
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ CRC64_NVME_POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn crc64_tables_agree_with_bitwise() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in 0..data.len() {
            let mut h = Crc64Nvme::new();
            h.update(&data[..len]);
            assert_eq!(h.finish(), crc64_bitwise(&data[..len]), "length {len}");
        }
        // An update boundary in the middle of an eight-byte block changes nothing.
        let mut h = Crc64Nvme::new();
        h.update(&data[..13]);
        h.update(&data[13..]);
        assert_eq!(h.finish(), crc64_bitwise(&data));
    }

    #[test]
    fn hasher_digests() {
        let mut h = Hasher::new(true, None);
        h.update(b"");
        let d = h.finish();
        assert_eq!(hex::encode(d.md5), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex::encode(d.sha256.unwrap()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.checksum, None);
        assert_eq!(etag_of(&d.md5), "\"d41d8cd98f00b204e9800998ecf8427e\"");

        let d = Hasher::new(false, Some(ChecksumAlgorithm::Crc32)).finish();
        assert_eq!(d.sha256, None);

        // The shared SHA-256 gives the same answer as a separate one.
        let mut shared = Hasher::new(true, Some(ChecksumAlgorithm::Sha256));
        let mut alone = Hasher::new(false, Some(ChecksumAlgorithm::Sha256));
        shared.update(b"hello world");
        alone.update(b"hello world");
        let (shared, alone) = (shared.finish(), alone.finish());
        assert_eq!(shared.checksum, alone.checksum);
        assert_eq!(
            shared.checksum.unwrap().1,
            B64.encode(shared.sha256.unwrap())
        );
        assert_eq!(hex::encode(alone.md5), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }

    fn check_md5(header: &str, body: &[u8], expected: Result<(), &str>) {
        let md5: [u8; 16] = Md5::digest(body).into();
        let got = content_md5_check(header, &md5).map_err(|e| e.code());
        assert_eq!(got, expected, "Content-MD5 {header:?}");
    }

    #[test]
    fn content_md5() {
        check_md5("1B2M2Y8AsgTpgAmY7PhCfg==", b"", Ok(()));
        check_md5("XrY7u+Ae7tCTyyK7j1rNww==", b"hello world", Ok(()));
        check_md5("XrY7u+Ae7tCTyyK7j1rNww==", b"hello there", Err("BadDigest"));
        check_md5("not base64!", b"", Err("InvalidDigest"));
        check_md5("", b"", Err("InvalidDigest"));
        check_md5("AAAA", b"", Err("InvalidDigest"));
        check_md5("1B2M2Y8AsgTpgAmY7PhC", b"", Err("InvalidDigest"));
        let err = content_md5_check("AAAA", &[0; 16]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The Content-MD5 you specified was invalid."
        );
        let err = content_md5_check("1B2M2Y8AsgTpgAmY7PhCfg==", &[0; 16]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The Content-MD5 you specified did not match what we received."
        );
    }

    fn check_sum(alg: ChecksumAlgorithm, sent: &str, body: &[u8], expected: Result<(), &str>) {
        let actual = checksum_of(alg, body);
        let got = checksum_check(alg, sent, &actual).map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_string), "{alg} {sent:?}");
    }

    #[test]
    fn checksum_checks() {
        use ChecksumAlgorithm::*;
        check_sum(Crc32, "DUoRhQ==", b"hello world", Ok(()));
        check_sum(
            Crc32,
            "DUoRhA==",
            b"hello world",
            Err("The CRC32 you specified did not match the calculated checksum."),
        );
        check_sum(
            Crc32c,
            "AAAAAA==",
            b"x",
            Err("The CRC32C you specified did not match the calculated checksum."),
        );
        check_sum(
            Crc64Nvme,
            "AAAAAA==",
            b"x",
            Err("Value for x-amz-checksum-crc64nvme header is invalid."),
        );
        check_sum(
            Crc32,
            "%%%",
            b"x",
            Err("Value for x-amz-checksum-crc32 header is invalid."),
        );
        check_sum(
            Sha256,
            "DUoRhQ==",
            b"x",
            Err("Value for x-amz-checksum-sha256 header is invalid."),
        );
        let sha1 = checksum_of(Sha1, b"abc");
        check_sum(Sha1, &sha1, b"abc", Ok(()));
        check_sum(
            Sha1,
            &sha1,
            b"abd",
            Err("The SHA1 you specified did not match the calculated checksum."),
        );
        assert_eq!(ChecksumMismatch(Crc32).code(), "BadDigest");
        assert_eq!(InvalidChecksum(Crc32).code(), "InvalidRequest");
    }

    use IntegrityError::{ChecksumMismatch, InvalidChecksum};

    #[test]
    fn algorithm_names() {
        use ChecksumAlgorithm::*;
        for (text, alg) in [
            ("CRC32", Some(Crc32)),
            ("crc32", Some(Crc32)),
            ("Crc32C", Some(Crc32c)),
            ("sha1", Some(Sha1)),
            ("SHA256", Some(Sha256)),
            ("crc64nvme", Some(Crc64Nvme)),
            ("CRC64", None),
            ("MD5", None),
            ("", None),
        ] {
            assert_eq!(ChecksumAlgorithm::parse(text), alg, "{text:?}");
        }
        for (header, alg) in [
            ("x-amz-checksum-crc32", Some(Crc32)),
            ("X-Amz-Checksum-CRC32C", Some(Crc32c)),
            ("x-amz-checksum-sha1", Some(Sha1)),
            ("x-amz-checksum-sha256", Some(Sha256)),
            ("x-amz-checksum-crc64nvme", Some(Crc64Nvme)),
            ("x-amz-checksum-algorithm", None),
            ("x-amz-checksum-type", None),
        ] {
            assert_eq!(ChecksumAlgorithm::from_header_name(header), alg, "{header}");
        }
        for alg in ChecksumAlgorithm::ALL {
            assert_eq!(
                ChecksumAlgorithm::from_xml_element(alg.xml_element()),
                Some(alg)
            );
            assert_eq!(ChecksumAlgorithm::parse(&alg.to_string()), Some(alg));
            assert_eq!(
                checksum_of(alg, b"").len(),
                B64.encode(vec![0; alg.digest_len()]).len()
            );
        }
    }

    #[test]
    fn checksum_headers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(checksum_header(&headers), Ok(None));
        headers.insert("x-amz-checksum-crc32", "DUoRhQ==".parse().unwrap());
        assert_eq!(
            checksum_header(&headers),
            Ok(Some((ChecksumAlgorithm::Crc32, "DUoRhQ==".into())))
        );
        headers.insert("x-amz-checksum-sha1", "DUoRhQ==".parse().unwrap());
        assert_eq!(
            checksum_header(&headers),
            Err(IntegrityError::MultipleChecksums)
        );
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-checksum-crc32c", "nope".parse().unwrap());
        assert_eq!(
            checksum_header(&headers),
            Err(InvalidChecksum(ChecksumAlgorithm::Crc32c))
        );
    }

    #[test]
    fn multipart_forms() {
        let md5 = |b: &[u8]| -> [u8; 16] { Md5::digest(b).into() };
        let parts = [md5(b"part one"), md5(b"part two")];
        let mut concat = Vec::new();
        concat.extend_from_slice(&parts[0]);
        concat.extend_from_slice(&parts[1]);
        assert_eq!(
            multipart_etag(&parts),
            format!("\"{}-2\"", hex::encode(md5(&concat)))
        );
        assert_eq!(
            multipart_etag(&[]),
            "\"d41d8cd98f00b204e9800998ecf8427e-0\""
        );

        for alg in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Sha1,
            ChecksumAlgorithm::Sha256,
        ] {
            let sums = vec![checksum_of(alg, b"part one"), checksum_of(alg, b"part two")];
            let mut raw = B64.decode(&sums[0]).unwrap();
            raw.extend(B64.decode(&sums[1]).unwrap());
            let expected = format!("{}-2", checksum_of(alg, &raw));
            assert_eq!(composite_checksum(alg, &sums), Some(expected), "{alg}");
            assert_eq!(composite_checksum(alg, &[]), None);
            assert_eq!(composite_checksum(alg, &["bad".to_string()]), None);
        }
        let sums = vec![checksum_of(ChecksumAlgorithm::Crc64Nvme, b"x")];
        assert_eq!(
            composite_checksum(ChecksumAlgorithm::Crc64Nvme, &sums),
            None
        );
    }
}
