//! The ListObjects / ListObjectsV2 algorithm over keys in ascending byte order: prefix
//! filtering, delimiter roll-up into common prefixes, `max-keys` paging and where the
//! next page resumes. Pure: the caller reads keys from storage and feeds them in.
//!
//! A listing runs in three steps:
//!
//! 1. [`scan_start`] turns the request's marker (`marker`, `start-after`, or a decoded
//!    `continuation-token`) into the first key to read. A marker inside a common prefix
//!    skips that whole prefix, since S3 returns only entries after the marker and every
//!    key under it would roll up into an entry at or before it.
//! 2. Keys from there on, in ascending byte order, are offered to a [`Lister`], which says
//!    after each one whether it wants the next key, would rather jump past a common
//!    prefix whose remaining keys it would skip anyway, or has its page.
//! 3. [`Lister::finish`] gives the page; its `next_marker` is the marker of the next page.
//!
//! [`list`] does steps 2 and 3 over any iterator, for callers that cannot seek.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use thiserror::Error;

/// What one listing request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListParams {
    pub prefix: String,
    /// An empty delimiter is the same as none, as in S3.
    pub delimiter: Option<String>,
    /// Entries (keys and common prefixes together) per page; S3 caps the request's value
    /// at 1000 before it gets here.
    pub max_keys: usize,
}

impl ListParams {
    fn delimiter(&self) -> Option<&str> {
        self.delimiter.as_deref().filter(|d| !d.is_empty())
    }

    /// The common prefix `key` rolls up into, if any: the prefix, then the rest of the key
    /// up to and including the first delimiter after the prefix.
    pub fn common_prefix_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let delimiter = self.delimiter()?;
        let rest = key.strip_prefix(self.prefix.as_str())?;
        let at = rest.find(delimiter)?;
        Some(&key[..self.prefix.len() + at + delimiter.len()])
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage<T> {
    /// The keys listed (as the items offered), in order.
    pub contents: Vec<T>,
    /// Common prefixes, in order. Together with `contents`, at most `max_keys` entries.
    pub common_prefixes: Vec<String>,
    /// Whether at least one more entry follows this page.
    pub is_truncated: bool,
    /// When truncated, the last entry of the page (a key or a common prefix): the marker
    /// of the next page, to pass to [`scan_start`].
    pub next_marker: Option<String>,
}

impl<T> Default for ListPage<T> {
    fn default() -> Self {
        ListPage {
            contents: Vec::new(),
            common_prefixes: Vec::new(),
            is_truncated: false,
            next_marker: None,
        }
    }
}

/// Where the caller starts reading keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanStart {
    /// Keys greater than or equal to this one (the empty string: every key).
    From(String),
    /// Keys strictly greater than this one.
    After(String),
    /// No key can be listed: the page is empty and not truncated.
    Nothing,
}

impl ScanStart {
    /// Whether `key` is at or past the start.
    pub fn admits(&self, key: &str) -> bool {
        match self {
            ScanStart::From(from) => key >= from.as_str(),
            ScanStart::After(after) => key > after.as_str(),
            ScanStart::Nothing => false,
        }
    }
}

/// The first key to read for a listing that resumes after `marker` (none or empty: from
/// the start of the prefix).
pub fn scan_start(params: &ListParams, marker: Option<&str>) -> ScanStart {
    let prefix = params.prefix.as_str();
    // A marker equal to the prefix is a real resume point: the key equal to the prefix
    // was listed already.
    let Some(marker) = marker.filter(|m| !m.is_empty() && *m >= prefix) else {
        return ScanStart::From(prefix.to_string());
    };
    if !marker.starts_with(prefix) {
        // Past every key under the prefix.
        return ScanStart::Nothing;
    }
    match params.common_prefix_of(marker) {
        Some(common) => match key_after_prefix(common) {
            Some(next) => ScanStart::From(next),
            None => ScanStart::Nothing,
        },
        None => ScanStart::After(marker.to_string()),
    }
}

/// The smallest string greater than every string that starts with `prefix`, or `None`
/// when no string is (`prefix` empty or all U+10FFFF). Because UTF-8 byte order is code
/// point order, this is `prefix` with its last character replaced by the next one,
/// after dropping trailing U+10FFFF.
pub fn key_after_prefix(prefix: &str) -> Option<String> {
    let mut s = prefix.to_string();
    while let Some(c) = s.pop() {
        let next = match c {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            s.push(next);
            return Some(s);
        }
    }
    None
}

/// What a [`Lister`] wants after being offered a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Offer the next key.
    Next,
    /// Keys below this one would be skipped: the caller may seek to it (keys greater or
    /// equal) or keep offering keys in order, as it finds cheaper.
    SkipTo(String),
    /// The page is complete; offer nothing more.
    Done,
}

/// Builds one page from keys offered in ascending byte order.
#[derive(Debug)]
pub struct Lister<T> {
    params: ListParams,
    page: ListPage<T>,
    entries: usize,
    /// The last entry added, the next marker if the page turns out truncated.
    last_entry: Option<String>,
    /// The common prefix added last, whose further keys roll into it and are skipped.
    open_prefix: Option<String>,
    done: bool,
}

impl<T: AsRef<str>> Lister<T> {
    pub fn new(params: &ListParams) -> Self {
        Lister {
            params: params.clone(),
            page: ListPage::default(),
            entries: 0,
            last_entry: None,
            open_prefix: None,
            done: false,
        }
    }

    pub fn offer(&mut self, item: T) -> Step {
        if self.done {
            return Step::Done;
        }
        let key = item.as_ref();
        let prefix = self.params.prefix.as_str();
        if !key.starts_with(prefix) {
            if key < prefix {
                return Step::SkipTo(prefix.to_string());
            }
            // Keys under a prefix are contiguous: once past them, nothing else matches.
            return self.end(false);
        }
        if let Some(open) = &self.open_prefix {
            if key.starts_with(open.as_str()) {
                return skip_past(open);
            }
        }
        if self.params.max_keys == 0 {
            // S3 answers max-keys=0 with an empty page that is not truncated.
            return self.end(false);
        }
        if self.entries == self.params.max_keys {
            // A new entry exists beyond a full page.
            return self.end(true);
        }
        self.entries += 1;
        match self.params.common_prefix_of(key) {
            Some(common) => {
                let common = common.to_string();
                self.page.common_prefixes.push(common.clone());
                self.last_entry = Some(common.clone());
                let step = skip_past(&common);
                self.open_prefix = Some(common);
                if step == Step::Done {
                    // No key can follow this prefix, so no entry can either.
                    self.done = true;
                }
                step
            }
            None => {
                self.last_entry = Some(key.to_string());
                self.page.contents.push(item);
                Step::Next
            }
        }
    }

    fn end(&mut self, truncated: bool) -> Step {
        self.done = true;
        self.page.is_truncated = truncated;
        Step::Done
    }

    pub fn finish(mut self) -> ListPage<T> {
        if self.page.is_truncated {
            self.page.next_marker = self.last_entry;
        }
        self.page
    }
}

fn skip_past(common_prefix: &str) -> Step {
    match key_after_prefix(common_prefix) {
        Some(next) => Step::SkipTo(next),
        None => Step::Done,
    }
}

/// Lists one page from `items`, keys in ascending byte order from where [`scan_start`]
/// said to start, consuming no more of the iterator than needed to know whether another
/// entry follows the page.
pub fn list<I, T>(items: I, params: &ListParams) -> ListPage<T>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    let mut lister = Lister::new(params);
    for item in items {
        if lister.offer(item) == Step::Done {
            break;
        }
    }
    lister.finish()
}

/// Why a listing request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ListError {
    #[error("The continuation token provided is incorrect")]
    InvalidContinuationToken,
}

impl ListError {
    /// The S3 error code sent in `<Code>`.
    pub fn code(&self) -> &'static str {
        "InvalidArgument"
    }
}

/// A ListObjectsV2 continuation token for resuming after `resume_key` (a page's
/// `next_marker`). Opaque to clients; URL-safe so it survives query strings unescaped.
pub fn encode_token(resume_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(resume_key.as_bytes())
}

/// The resume key inside a continuation token from [`encode_token`].
pub fn decode_token(token: &str) -> Result<String, ListError> {
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| ListError::InvalidContinuationToken)?;
    match String::from_utf8(raw) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(ListError::InvalidContinuationToken),
    }
}

/// Encodes a key (or prefix, delimiter, marker) for `encoding-type=url` as S3 does:
/// unreserved characters and `/` stay, a space becomes `+`, every other byte is `%XX`.
/// The SDKs decode with form decoding (botocore: `unquote_plus`), so `+` in a key must
/// and does travel as `%2B`.
pub fn url_encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => {
                // A space is `%20`, which both plain and form (`unquote_plus`) decoders
                // read back as a space.
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(prefix: &str, delimiter: Option<&str>, max_keys: usize) -> ListParams {
        ListParams {
            prefix: prefix.to_string(),
            delimiter: delimiter.map(str::to_string),
            max_keys,
        }
    }

    /// The sorted `keys` from `start` on, found by binary search as an index would.
    fn from_start<'k>(keys: &'k [String], start: &ScanStart) -> &'k [String] {
        &keys[keys.partition_point(|k| !start.admits(k))..]
    }

    /// Lists one page of sorted `keys` after `marker`, as a caller that cannot seek.
    fn page(keys: &[String], p: &ListParams, marker: Option<&str>) -> ListPage<String> {
        list(from_start(keys, &scan_start(p, marker)).iter().cloned(), p)
    }

    /// The same page, read the way a storage-backed caller does: in small batches,
    /// seeking whenever the lister asks to skip.
    fn page_seeking(keys: &[String], p: &ListParams, marker: Option<&str>) -> ListPage<String> {
        let mut start = scan_start(p, marker);
        let mut lister = Lister::new(p);
        'batches: loop {
            let batch: Vec<&String> = from_start(keys, &start).iter().take(3).collect();
            if batch.is_empty() {
                break;
            }
            for key in &batch {
                match lister.offer((*key).clone()) {
                    Step::Next => start = ScanStart::After((*key).clone()),
                    Step::SkipTo(next) => {
                        assert!(next.as_str() > key.as_str(), "{next:?} after {key:?}");
                        start = ScanStart::From(next);
                        continue 'batches;
                    }
                    Step::Done => break 'batches,
                }
            }
        }
        lister.finish()
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        keys: &[&str],
        p: ListParams,
        marker: Option<&str>,
        contents: &[&str],
        prefixes: &[&str],
        truncated: bool,
        next_marker: Option<&str>,
    ) {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        let expected = ListPage {
            contents: contents.iter().map(|k| k.to_string()).collect(),
            common_prefixes: prefixes.iter().map(|k| k.to_string()).collect(),
            is_truncated: truncated,
            next_marker: next_marker.map(str::to_string),
        };
        assert_eq!(page(&keys, &p, marker), expected, "{p:?} after {marker:?}");
        assert_eq!(
            page_seeking(&keys, &p, marker),
            expected,
            "seeking {p:?} after {marker:?}"
        );
    }

    const PHOTOS: &[&str] = &[
        "sample.jpg",
        "photos/2006/January/sample.jpg",
        "photos/2006/February/sample2.jpg",
        "photos/2006/February/sample3.jpg",
        "photos/2006/February/sample4.jpg",
        "photos/2007/sample.jpg",
        "videos/a.mp4",
    ];

    #[test]
    fn s3_documented_examples() {
        check(
            PHOTOS,
            params("", Some("/"), 1000),
            None,
            &["sample.jpg"],
            &["photos/", "videos/"],
            false,
            None,
        );
        check(
            PHOTOS,
            params("photos/2006/", Some("/"), 1000),
            None,
            &[],
            &["photos/2006/February/", "photos/2006/January/"],
            false,
            None,
        );
        check(
            PHOTOS,
            params("photos/", None, 2),
            None,
            &[
                "photos/2006/February/sample2.jpg",
                "photos/2006/February/sample3.jpg",
            ],
            &[],
            true,
            Some("photos/2006/February/sample3.jpg"),
        );
    }

    #[test]
    fn paging_by_entries() {
        // The common prefix counts once, however many keys it covers.
        check(
            PHOTOS,
            params("", Some("/"), 1),
            None,
            &[],
            &["photos/"],
            true,
            Some("photos/"),
        );
        // Resuming after a common prefix skips every key under it.
        check(
            PHOTOS,
            params("", Some("/"), 1),
            Some("photos/"),
            &["sample.jpg"],
            &[],
            true,
            Some("sample.jpg"),
        );
        check(
            PHOTOS,
            params("", Some("/"), 1),
            Some("sample.jpg"),
            &[],
            &["videos/"],
            false,
            None,
        );
        // A full page followed only by keys of its last common prefix is not truncated.
        check(
            PHOTOS,
            params("photos/", Some("/"), 2),
            None,
            &[],
            &["photos/2006/", "photos/2007/"],
            false,
            None,
        );
        // A marker inside a common prefix skips that prefix too.
        check(
            PHOTOS,
            params("", Some("/"), 10),
            Some("photos/2006/February/sample2.jpg"),
            &["sample.jpg"],
            &["videos/"],
            false,
            None,
        );
        // A marker before the prefix starts at the prefix; one after it lists nothing.
        check(
            PHOTOS,
            params("photos/2007", None, 10),
            Some("a"),
            &["photos/2007/sample.jpg"],
            &[],
            false,
            None,
        );
        check(
            PHOTOS,
            params("photos/", None, 10),
            Some("q"),
            &[],
            &[],
            false,
            None,
        );
        // A marker that is not a key resumes at the next key.
        check(
            PHOTOS,
            params("", None, 2),
            Some("photos/2006/February/sample2.jpgz"),
            &[
                "photos/2006/February/sample3.jpg",
                "photos/2006/February/sample4.jpg",
            ],
            &[],
            true,
            Some("photos/2006/February/sample4.jpg"),
        );
    }

    #[test]
    fn edge_parameters() {
        check(
            PHOTOS,
            params("", Some("/"), 0),
            None,
            &[],
            &[],
            false,
            None,
        );
        check(&[], params("", Some("/"), 10), None, &[], &[], false, None);
        check(
            PHOTOS,
            params("nothing", None, 10),
            None,
            &[],
            &[],
            false,
            None,
        );
        // An empty delimiter is no delimiter.
        check(
            &["a/b", "c"],
            params("", Some(""), 10),
            None,
            &["a/b", "c"],
            &[],
            false,
            None,
        );
        // A key equal to the prefix is listed; a delimiter inside the prefix does not count.
        check(
            &["a/", "a/b", "a/c/d"],
            params("a/", Some("/"), 10),
            None,
            &["a/", "a/b"],
            &["a/c/"],
            false,
            None,
        );
        // Resuming after the key equal to the prefix moves past it.
        check(
            &["a/", "a/b", "a/c/d"],
            params("a/", Some("/"), 1),
            Some("a/"),
            &["a/b"],
            &[],
            true,
            Some("a/b"),
        );
        // The delimiter as a whole key after the prefix makes a common prefix of itself.
        check(
            &["a//"],
            params("a/", Some("/"), 10),
            None,
            &[],
            &["a//"],
            false,
            None,
        );
    }

    #[test]
    fn other_delimiters() {
        let keys = &["a-b-c", "a-b-d", "a-c", "ab", "b+x+y", "b+z", "xay", "xaay"];
        check(
            keys,
            params("", Some("-"), 10),
            None,
            &["ab", "b+x+y", "b+z", "xaay", "xay"],
            &["a-"],
            false,
            None,
        );
        check(
            keys,
            params("a-", Some("-"), 10),
            None,
            &["a-c"],
            &["a-b-"],
            false,
            None,
        );
        check(
            keys,
            params("", Some("+"), 10),
            None,
            &["a-b-c", "a-b-d", "a-c", "ab", "xaay", "xay"],
            &["b+"],
            false,
            None,
        );
        // Multi-character delimiters match whole.
        check(
            keys,
            params("", Some("aa"), 10),
            None,
            &["a-b-c", "a-b-d", "a-c", "ab", "b+x+y", "b+z", "xay"],
            &["xaa"],
            false,
            None,
        );
        check(
            &["one--two", "one-three", "one--four--five"],
            params("", Some("--"), 10),
            None,
            &["one-three"],
            &["one--"],
            false,
            None,
        );
        // Overlapping occurrences: the first one wins.
        check(
            &["xaaay"],
            params("", Some("aa"), 10),
            None,
            &[],
            &["xaa"],
            false,
            None,
        );
    }

    #[test]
    fn unicode_keys() {
        let keys = &[
            "日本/東京",
            "日本/大阪",
            "é/x",
            "e/x",
            "\u{10FFFF}/z",
            "\u{10FFFF}\u{10FFFF}",
        ];
        check(
            keys,
            params("", Some("/"), 10),
            None,
            &["\u{10FFFF}\u{10FFFF}"],
            &["e/", "é/", "日本/", "\u{10FFFF}/"],
            false,
            None,
        );
        check(
            keys,
            params("", Some("本"), 10),
            None,
            &["e/x", "é/x", "\u{10FFFF}/z", "\u{10FFFF}\u{10FFFF}"],
            &["日本"],
            false,
            None,
        );
        check(
            keys,
            params("", Some("/"), 3),
            Some("é/"),
            &["\u{10FFFF}\u{10FFFF}"],
            &["日本/", "\u{10FFFF}/"],
            false,
            None,
        );
    }

    #[test]
    fn successor_of_prefix() {
        for (prefix, next) in [
            ("photos/", Some("photos0")),
            ("a", Some("b")),
            ("a\u{D7FF}", Some("a\u{E000}")),
            ("a\u{10FFFF}", Some("b")),
            ("a\u{10FFFF}\u{10FFFF}", Some("b")),
            ("\u{7F}", Some("\u{80}")),
            ("\u{FFFF}", Some("\u{10000}")),
            ("", None),
            ("\u{10FFFF}", None),
        ] {
            assert_eq!(key_after_prefix(prefix).as_deref(), next, "{prefix:?}");
        }
    }

    /// A varied key set: nested segments, several separators and non-ASCII text.
    fn many_keys() -> Vec<String> {
        let parts = [
            "a",
            "b",
            "ab",
            "a b",
            "x+y",
            "é",
            "日本",
            "\u{10FFFF}",
            "z",
            "photos",
        ];
        let seps = ["/", "-", "//"];
        let mut keys = Vec::new();
        for (i, p1) in parts.iter().enumerate() {
            keys.push(p1.to_string());
            for s1 in seps {
                for (j, p2) in parts.iter().enumerate() {
                    let two = format!("{p1}{s1}{p2}");
                    if (i + j) % 2 == 0 {
                        for s2 in seps {
                            for p3 in parts {
                                keys.push(format!("{two}{s2}{p3}"));
                            }
                        }
                    }
                    keys.push(two);
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Every entry of a listing, by the definition: each matching key or the common
    /// prefix it rolls into, once each, in order.
    fn all_entries(keys: &[String], p: &ListParams) -> (Vec<String>, Vec<String>) {
        let (mut contents, mut prefixes) = (Vec::new(), Vec::<String>::new());
        for key in keys.iter().filter(|k| k.starts_with(&p.prefix)) {
            match p.common_prefix_of(key) {
                Some(cp) if prefixes.last().map(String::as_str) != Some(cp) => {
                    prefixes.push(cp.to_string())
                }
                Some(_) => {}
                None => contents.push(key.clone()),
            }
        }
        (contents, prefixes)
    }

    #[test]
    fn paging_reassembles_the_whole_listing() {
        let keys = many_keys();
        assert!(keys.len() > 1000, "{} keys", keys.len());
        for prefix in ["", "a", "a/", "a b", "é", "日本/", "\u{10FFFF}", "zz"] {
            for delimiter in [
                None,
                Some("/"),
                Some("-"),
                Some("//"),
                Some("+"),
                Some("本"),
            ] {
                let whole = params(prefix, delimiter, usize::MAX);
                let one_shot = page(&keys, &whole, None);
                let expected = all_entries(&keys, &whole);
                assert_eq!(
                    (one_shot.contents.clone(), one_shot.common_prefixes.clone()),
                    expected,
                    "{whole:?}"
                );
                assert!(!one_shot.is_truncated);
                for max_keys in 1..=7 {
                    let p = params(prefix, delimiter, max_keys);
                    let (mut contents, mut prefixes) = (Vec::new(), Vec::new());
                    let mut marker: Option<String> = None;
                    let mut pages = 0;
                    loop {
                        let got = page(&keys, &p, marker.as_deref());
                        let seeking = page_seeking(&keys, &p, marker.as_deref());
                        assert_eq!(got, seeking, "{p:?} after {marker:?}");
                        assert!(got.contents.len() + got.common_prefixes.len() <= max_keys);
                        contents.extend(got.contents);
                        prefixes.extend(got.common_prefixes);
                        pages += 1;
                        if !got.is_truncated {
                            assert_eq!(got.next_marker, None);
                            break;
                        }
                        // Through the V2 token, as a client would resume.
                        let next = got.next_marker.unwrap();
                        assert!(
                            marker.as_deref() < Some(next.as_str()),
                            "no progress: {p:?}"
                        );
                        let token = encode_token(&next);
                        marker = Some(decode_token(&token).unwrap());
                    }
                    let entries = expected.0.len() + expected.1.len();
                    assert_eq!((contents, prefixes), expected, "{p:?}");
                    assert_eq!(pages, entries.div_ceil(max_keys).max(1), "{p:?}");
                }
            }
        }
    }

    #[test]
    fn stops_reading_early() {
        let keys: Vec<String> = (0..100).map(|i| format!("k{i:03}")).collect();
        let mut read = 0;
        let got = list(
            keys.iter().inspect(|_| read += 1).map(String::as_str),
            &params("", None, 5),
        );
        assert_eq!(got.contents.len(), 5);
        assert!(got.is_truncated);
        // Five for the page and one to learn that more exist.
        assert_eq!(read, 6);
    }

    #[test]
    fn tokens() {
        for key in ["a", "photos/2006/", "日本/\u{10FFFF}", "a+b c?d=e&f"] {
            let token = encode_token(key);
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(decode_token(&token).as_deref(), Ok(key));
        }
        for bad in ["", "!!!", "a", "_w", "gA"] {
            let err = decode_token(bad).unwrap_err();
            assert_eq!(err.code(), "InvalidArgument", "{bad:?}");
            assert_eq!(
                err.to_string(),
                "The continuation token provided is incorrect"
            );
        }
    }

    /// Form decoding, as botocore's `unquote_plus` does it.
    fn unquote_plus(s: &str) -> String {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    fn check_url(key: &str, encoded: &str) {
        assert_eq!(url_encode_key(key), encoded, "{key:?}");
        assert_eq!(unquote_plus(encoded), key);
    }

    #[test]
    fn url_encoding() {
        check_url("photos/2006/a.jpg", "photos/2006/a.jpg");
        check_url("a b.txt", "a%20b.txt");
        check_url("a+b.txt", "a%2Bb.txt");
        check_url("100%.csv", "100%25.csv");
        check_url("한글/x.txt", "%ED%95%9C%EA%B8%80/x.txt");
        check_url("A-Z_a.z~0", "A-Z_a.z~0");
        check_url("line\nbreak\r\0", "line%0Abreak%0D%00");
        check_url("q?x=1&y=#2", "q%3Fx%3D1%26y%3D%232");
        check_url("<tag>'\"", "%3Ctag%3E%27%22");
        for key in many_keys() {
            assert_eq!(unquote_plus(&url_encode_key(&key)), key);
        }
    }
}
