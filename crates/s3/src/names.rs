//! Bucket name and object key validation, following the rules S3 applies to general
//! purpose buckets, so that a name accepted here is one S3 would accept too.

use thiserror::Error;

/// Longest object key S3 stores, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Why a bucket name or object key was refused. The `Display` text is the message S3
/// sends; `reason` on a bucket name is for logs only, since S3 gives no detail.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("The specified bucket is not valid.")]
    InvalidBucketName { reason: &'static str },
    #[error("Your key is too long")]
    KeyTooLong { len: usize },
    #[error("A key must be specified")]
    EmptyKey,
}

impl NameError {
    /// The S3 error code sent in `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            NameError::InvalidBucketName { .. } => "InvalidBucketName",
            NameError::KeyTooLong { .. } => "KeyTooLongError",
            NameError::EmptyKey => "InvalidArgument",
        }
    }
}

/// Prefixes S3 reserves for its own names (punycode, access points, documentation).
const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];

/// Suffixes S3 reserves for aliases of access points, Object Lambda, Multi-Region
/// Access Points, directory buckets and table buckets.
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Checks a general purpose bucket name.
pub fn check_bucket_name(name: &str) -> Result<(), NameError> {
    let invalid = |reason| Err(NameError::InvalidBucketName { reason });
    if !(3..=63).contains(&name.len()) {
        return invalid("must be 3 to 63 characters long");
    }
    let bytes = name.as_bytes();
    if bytes
        .iter()
        .any(|b| !matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
    {
        return invalid("may hold only lowercase letters, digits, '.' and '-'");
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return invalid("must start and end with a letter or digit");
    }
    if name.contains("..") {
        return invalid("must not hold two adjacent periods");
    }
    if looks_like_ipv4(name) {
        return invalid("must not be formatted as an IP address");
    }
    if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return invalid("starts with a reserved prefix");
    }
    if RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return invalid("ends with a reserved suffix");
    }
    Ok(())
}

/// A dotted quad of one-to-three-digit numbers, the shape S3 refuses so that a bucket
/// name can never be mistaken for a host address in a virtual-hosted URL.
fn looks_like_ipv4(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    labels.len() == 4
        && labels
            .iter()
            .all(|l| (1..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks an object key. S3 treats keys as opaque: `..`, `//`, control characters and
/// NUL are all legal, so only the length is limited.
pub fn check_object_key(key: &str) -> Result<(), NameError> {
    if key.is_empty() {
        return Err(NameError::EmptyKey);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(NameError::KeyTooLong { len: key.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `None` means valid, `Some(code)` means refused with that code.
    fn check(name: &str, expected: Option<&str>) {
        let got = check_bucket_name(name).err().map(|e| e.code());
        assert_eq!(got, expected, "bucket name {name:?}");
    }

    fn check_key(key: &str, expected: Option<&str>) {
        let got = check_object_key(key).err().map(|e| e.code());
        assert_eq!(got, expected, "key of {} bytes", key.len());
    }

    const BAD: Option<&str> = Some("InvalidBucketName");

    #[test]
    fn valid_bucket_names() {
        for name in [
            "abc",
            "my-bucket",
            "my.bucket.name",
            "a1b2c3",
            "123",
            "0bucket9",
            "docexamplebucket1",
            "log-delivery-march-2020",
            "my-hosted-content",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.a",
            "1234.2.3.4",
            "xn-abc",
            "sthree",
            "a-s3alias-b",
            "mrap",
            "bucket-x-s3",
            &"a".repeat(63),
        ] {
            check(name, None);
        }
    }

    #[test]
    fn invalid_bucket_names() {
        for name in [
            "",
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "my_bucket",
            "my bucket",
            "bücket",
            "-bucket",
            "bucket-",
            ".bucket",
            "bucket.",
            "my..bucket",
            "192.168.5.4",
            "10.0.0.1",
            "1.2.3.4",
            "xn--bucket",
            "sthree-bucket",
            "sthree-configurator",
            "amzn-s3-demo-bucket",
            "bucket-s3alias",
            "bucket--ol-s3",
            "bucket.mrap",
            "bucket--x-s3",
            "bucket--table-s3",
            "bucket/x",
            "bucket\0",
        ] {
            check(name, BAD);
        }
    }

    #[test]
    fn bucket_error_reads_like_s3() {
        let err = check_bucket_name("UPPER").unwrap_err();
        assert_eq!(err.to_string(), "The specified bucket is not valid.");
    }

    #[test]
    fn object_keys() {
        check_key("a", None);
        check_key("photos/2006/February/sample.jpg", None);
        check_key("../../etc/passwd", None);
        check_key("a//b", None);
        check_key("nul\0inside", None);
        check_key("line\r\nbreak", None);
        check_key("ключ/🔑", None);
        check_key(&"k".repeat(1024), None);
        check_key("", Some("InvalidArgument"));
        check_key(&"k".repeat(1025), Some("KeyTooLongError"));
        // 342 three-byte characters are 1026 bytes: the limit counts bytes, not characters.
        check_key(&"€".repeat(342), Some("KeyTooLongError"));
        check_key(&"€".repeat(341), None);
    }

    #[test]
    fn key_error_reads_like_s3() {
        let err = check_object_key(&"k".repeat(2000)).unwrap_err();
        assert_eq!(err.to_string(), "Your key is too long");
    }
}
