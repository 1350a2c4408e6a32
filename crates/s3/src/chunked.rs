//! A push decoder for the `aws-chunked` content encoding, which SigV4 streaming uploads
//! and trailing checksums use. The body arrives as a stream of arbitrary slices, so the
//! decoder keeps only the state of the current line or chunk, never the whole body.
//!
//! Wire format:
//!
//! ```text
//! <hex size>[;chunk-signature=<64 hex>]\r\n<size bytes of data>\r\n   (repeated)
//! 0[;chunk-signature=<64 hex>]\r\n
//! <name>:<value>\r\n                                                 (zero or more trailers)
//! \r\n
//! ```
//!
//! # Checking chunk signatures as the data streams
//!
//! Each chunk's signature covers the SHA-256 of its data, and the signature is known
//! before its data (it is in the chunk header). A caller that verifies signatures keeps a
//! running SHA-256 of the current chunk and, after each [`ChunkedDecoder::push`]:
//!
//! 1. calls [`ChunkedDecoder::take_completed_chunks`], which returns, in order, every
//!    chunk whose data (and its closing CRLF) was completed since the last call;
//! 2. for each completed chunk, feeds the next `size - already_fed` bytes of the freshly
//!    decoded output to the running hash, finishes it, checks the signature, and starts a
//!    new hash;
//! 3. feeds what is left of the output to the running hash: it is the start of a chunk
//!    still in progress.
//!
//! The final zero-size chunk is reported as soon as its header is read, so its signature
//! (over empty data) can be checked before the trailers. `chunks` in [`Decoded`] holds
//! the chunks never taken, so a caller that drains after every push keeps memory flat.

use thiserror::Error;

/// Longest chunk header line, extensions and CRLF included.
pub const MAX_HEADER_LINE: usize = 4096;
/// Most bytes the trailer section may take, CRLFs included.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// Largest chunk accepted; clients use 64 KiB to 1 MiB, so this only stops abuse.
pub const MAX_CHUNK_SIZE: usize = 64 * 1024 * 1024;
/// S3 requires signed chunks other than the last data chunk to hold at least this much.
pub const MIN_SIGNED_CHUNK: usize = 8192;

/// One chunk of the body: how much data it carried and its signature, if it was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkMeta {
    pub size: usize,
    pub signature: Option<String>,
}

/// What a complete body held besides its data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Chunks not already returned by `take_completed_chunks`.
    pub chunks: Vec<ChunkMeta>,
    /// Trailer headers in order, names lowercased, values trimmed.
    pub trailers: Vec<(String, String)>,
    pub decoded_len: u64,
}

impl Decoded {
    /// The value of the trailer `name` (lowercase), if sent.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an `aws-chunked` body was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkedError {
    #[error("The request body terminated unexpectedly")]
    Truncated,
    #[error("The chunk header is malformed: {0}")]
    MalformedHeader(&'static str),
    #[error("The chunk header is longer than {MAX_HEADER_LINE} bytes")]
    HeaderTooLong,
    #[error("A chunk of {0} bytes is larger than the {MAX_CHUNK_SIZE} bytes allowed")]
    ChunkTooLarge(u64),
    #[error("Only the last chunk is allowed to have a size less than {MIN_SIGNED_CHUNK} bytes")]
    ChunkTooSmall { chunk: usize, size: usize },
    #[error("Chunk data is not followed by CRLF")]
    MissingCrlf,
    #[error("The trailer is malformed")]
    MalformedTrailer,
    #[error("The trailers are longer than {MAX_TRAILER_BYTES} bytes")]
    TrailerTooLong,
    #[error("The request body continues after its final chunk")]
    DataAfterEnd,
    #[error("The decoded body is longer than x-amz-decoded-content-length ({expected} bytes)")]
    TooLong { expected: u64 },
    #[error("The request body terminated unexpectedly")]
    TooShort { expected: u64, got: u64 },
}

impl ChunkedError {
    /// The S3 error code sent in `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            ChunkedError::Truncated | ChunkedError::TooShort { .. } => "IncompleteBody",
            ChunkedError::ChunkTooSmall { .. } => "InvalidChunkSizeError",
            _ => "InvalidArgument",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk header line into `line`.
    Header,
    /// Copying chunk data; this many bytes are still due.
    Data(usize),
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// Reading a trailer line into `line`.
    Trailer,
    /// The final empty line was read; nothing may follow.
    Done,
}

/// Decodes an `aws-chunked` body fed in arbitrary pieces. See the module docs for how to
/// verify chunk signatures incrementally.
pub struct ChunkedDecoder {
    expected_len: Option<u64>,
    state: State,
    /// The header or trailer line being read, without its LF.
    line: Vec<u8>,
    /// The chunk whose data is being read.
    current: Option<ChunkMeta>,
    completed: Vec<ChunkMeta>,
    trailers: Vec<(String, String)>,
    trailer_bytes: usize,
    decoded_len: u64,
    chunk_count: usize,
    /// Whether chunks are signed, fixed by the first one: mixing is refused.
    signed: Option<bool>,
    /// A signed chunk under the minimum size: legal only if the next chunk is the last.
    small_signed: Option<(usize, usize)>,
    /// The first error, returned again by every later call.
    failed: Option<ChunkedError>,
}

impl ChunkedDecoder {
    /// `expected_decoded_len` is `x-amz-decoded-content-length` when the request sent it.
    pub fn new(expected_decoded_len: Option<u64>) -> Self {
        ChunkedDecoder {
            expected_len: expected_decoded_len,
            state: State::Header,
            line: Vec::new(),
            current: None,
            completed: Vec::new(),
            trailers: Vec::new(),
            trailer_bytes: 0,
            decoded_len: 0,
            chunk_count: 0,
            signed: None,
            small_signed: None,
            failed: None,
        }
    }

    /// Decodes `input`, appending the chunk data it completes or continues to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.push_inner(input, out);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// The chunks completed since the last call, in body order.
    pub fn take_completed_chunks(&mut self) -> Vec<ChunkMeta> {
        std::mem::take(&mut self.completed)
    }

    /// Bytes of data decoded so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Ends the body: it must have reached its final empty line.
    pub fn finish(self) -> Result<Decoded, ChunkedError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.state != State::Done {
            return Err(ChunkedError::Truncated);
        }
        Ok(Decoded {
            chunks: self.completed,
            trailers: self.trailers,
            decoded_len: self.decoded_len,
        })
    }

    fn push_inner(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkedError> {
        while !input.is_empty() {
            match self.state {
                State::Header => {
                    if self.take_line(&mut input, MAX_HEADER_LINE)? {
                        self.header_line()?;
                    }
                }
                State::Data(remaining) => {
                    let n = remaining.min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    self.decoded_len += n as u64;
                    self.state = if n == remaining {
                        State::DataCr
                    } else {
                        State::Data(remaining - n)
                    };
                }
                State::DataCr | State::DataLf => {
                    let want = if self.state == State::DataCr {
                        b'\r'
                    } else {
                        b'\n'
                    };
                    if input[0] != want {
                        return Err(ChunkedError::MissingCrlf);
                    }
                    input = &input[1..];
                    if self.state == State::DataCr {
                        self.state = State::DataLf;
                    } else {
                        if let Some(chunk) = self.current.take() {
                            self.completed.push(chunk);
                        }
                        self.state = State::Header;
                    }
                }
                State::Trailer => {
                    let before = input.len();
                    let room = MAX_TRAILER_BYTES - self.trailer_bytes;
                    let complete = self.take_line(&mut input, room + self.line.len())?;
                    self.trailer_bytes += before - input.len();
                    if complete {
                        self.trailer_line()?;
                    }
                }
                State::Done => return Err(ChunkedError::DataAfterEnd),
            }
        }
        Ok(())
    }

    /// Moves bytes up to and including the next LF from `input` into `line`. True when
    /// the line is complete (its CRLF dropped), false when the input ran out first.
    /// A line may take at most `limit` bytes with its CRLF.
    fn take_line(&mut self, input: &mut &[u8], limit: usize) -> Result<bool, ChunkedError> {
        let in_trailer = self.state == State::Trailer;
        let (taken, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        let kept = if complete { taken - 1 } else { taken };
        // The LF still to come counts toward the limit.
        if self.line.len() + kept + 1 > limit {
            return Err(if in_trailer {
                ChunkedError::TrailerTooLong
            } else {
                ChunkedError::HeaderTooLong
            });
        }
        self.line.extend_from_slice(&input[..kept]);
        *input = &input[taken..];
        if !complete {
            return Ok(false);
        }
        if self.line.pop() != Some(b'\r') {
            return Err(if in_trailer {
                ChunkedError::MalformedTrailer
            } else {
                ChunkedError::MalformedHeader("the line does not end with CRLF")
            });
        }
        Ok(true)
    }

    fn header_line(&mut self) -> Result<(), ChunkedError> {
        let line = std::mem::take(&mut self.line);
        let chunk = parse_header(&line)?;
        let signed = chunk.signature.is_some();
        if *self.signed.get_or_insert(signed) != signed {
            return Err(ChunkedError::MalformedHeader(
                "signed and unsigned chunks are mixed",
            ));
        }
        if chunk.size > 0 {
            if let Some((index, size)) = self.small_signed.take() {
                return Err(ChunkedError::ChunkTooSmall { chunk: index, size });
            }
        }
        if let Some(expected) = self.expected_len {
            if self.decoded_len + chunk.size as u64 > expected {
                return Err(ChunkedError::TooLong { expected });
            }
        }
        self.chunk_count += 1;
        if chunk.size == 0 {
            if let Some(expected) = self.expected_len {
                if self.decoded_len != expected {
                    return Err(ChunkedError::TooShort {
                        expected,
                        got: self.decoded_len,
                    });
                }
            }
            self.completed.push(chunk);
            self.state = State::Trailer;
            return Ok(());
        }
        if signed && chunk.size < MIN_SIGNED_CHUNK {
            self.small_signed = Some((self.chunk_count, chunk.size));
        }
        self.state = State::Data(chunk.size);
        self.current = Some(chunk);
        Ok(())
    }

    fn trailer_line(&mut self) -> Result<(), ChunkedError> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.state = State::Done;
            return Ok(());
        }
        let text = std::str::from_utf8(&line).map_err(|_| ChunkedError::MalformedTrailer)?;
        let (name, value) = text.split_once(':').ok_or(ChunkedError::MalformedTrailer)?;
        let name = name.trim();
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(ChunkedError::MalformedTrailer);
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(ChunkedError::MalformedTrailer);
        }
        self.trailers
            .push((name.to_ascii_lowercase(), value.trim().to_string()));
        Ok(())
    }
}

/// Parses `<hex size>[;chunk-signature=<64 hex>]`.
fn parse_header(line: &[u8]) -> Result<ChunkMeta, ChunkedError> {
    let malformed = ChunkedError::MalformedHeader;
    let mut parts = line.split(|&b| b == b';');
    let size_text = parts.next().unwrap_or_default();
    if size_text.is_empty() || size_text.len() > 16 || !size_text.iter().all(u8::is_ascii_hexdigit)
    {
        return Err(malformed("the chunk size is not hexadecimal"));
    }
    let size = size_text
        .iter()
        .fold(0u64, |acc, &b| (acc << 4) | u64::from(hex_value(b)));
    if size > MAX_CHUNK_SIZE as u64 {
        return Err(ChunkedError::ChunkTooLarge(size));
    }
    let mut signature = None;
    for ext in parts {
        let Some(value) = ext.strip_prefix(b"chunk-signature=") else {
            return Err(malformed("unknown chunk extension"));
        };
        if value.len() != 64 || !value.iter().all(u8::is_ascii_hexdigit) {
            return Err(malformed(
                "the chunk signature is not 64 hexadecimal digits",
            ));
        }
        if signature.is_some() {
            return Err(malformed("the chunk signature is repeated"));
        }
        signature = Some(value.iter().map(|&b| char::from(b)).collect());
    }
    Ok(ChunkMeta {
        // Bounded by MAX_CHUNK_SIZE above, so it fits any usize this runs on.
        size: size as usize,
        signature,
    })
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const SIG_A: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
    const SIG_B: &str = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
    const SIG_Z: &str = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

    /// The outcome of a whole decode: the data and the `Decoded`, or the error code.
    type Outcome = Result<(Vec<u8>, Decoded), &'static str>;

    fn decode_in_pieces(expected: Option<u64>, pieces: &[&[u8]]) -> Outcome {
        let mut dec = ChunkedDecoder::new(expected);
        let mut out = Vec::new();
        let mut chunks = Vec::new();
        for piece in pieces {
            dec.push(piece, &mut out).map_err(|e| e.code())?;
            chunks.extend(dec.take_completed_chunks());
        }
        let mut decoded = dec.finish().map_err(|e| e.code())?;
        chunks.append(&mut decoded.chunks);
        decoded.chunks = chunks;
        assert_eq!(decoded.decoded_len, out.len() as u64);
        Ok((out, decoded))
    }

    /// Decodes `body` whole, split at every byte boundary, and one byte at a time; all
    /// must agree with each other and with `expected`.
    fn check(body: &[u8], expected_len: Option<u64>, expected: &Outcome) {
        let whole = decode_in_pieces(expected_len, &[body]);
        assert_eq!(
            &whole,
            expected,
            "whole body {:?}",
            String::from_utf8_lossy(body)
        );
        for at in 0..=body.len() {
            let (a, b) = body.split_at(at);
            let split = decode_in_pieces(expected_len, &[a, b]);
            assert_eq!(&split, expected, "split at {at}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(
            &decode_in_pieces(expected_len, &bytes),
            expected,
            "bytewise"
        );
    }

    fn meta(size: usize, sig: Option<&str>) -> ChunkMeta {
        ChunkMeta {
            size,
            signature: sig.map(str::to_string),
        }
    }

    fn ok(data: &[u8], chunks: Vec<ChunkMeta>, trailers: &[(&str, &str)]) -> Outcome {
        Ok((
            data.to_vec(),
            Decoded {
                chunks,
                trailers: trailers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                decoded_len: data.len() as u64,
            },
        ))
    }

    #[test]
    fn unsigned_with_trailer() {
        // What botocore sends for a trailing CRC32 over "hello world".
        let body = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        let expected = ok(
            b"hello world",
            vec![meta(11, None), meta(0, None)],
            &[("x-amz-checksum-crc32", "DUoRhQ==")],
        );
        check(body, None, &expected);
        check(body, Some(11), &expected);
        check(body, Some(10), &Err("InvalidArgument"));
        check(body, Some(12), &Err("IncompleteBody"));
    }

    #[test]
    fn empty_body() {
        check(b"0\r\n\r\n", Some(0), &ok(b"", vec![meta(0, None)], &[]));
    }

    #[test]
    fn signed_chunks_and_trailer_signature() {
        let data_a = vec![b'a'; 8192];
        let data_b = b"tail".to_vec();
        let mut body = Vec::new();
        body.extend(format!("2000;chunk-signature={SIG_A}\r\n").bytes());
        body.extend(&data_a);
        body.extend(format!("\r\n4;chunk-signature={SIG_B}\r\n").bytes());
        body.extend(&data_b);
        body.extend(format!("\r\n0;chunk-signature={SIG_Z}\r\n").bytes());
        body.extend(b"X-Amz-Checksum-CRC32C : sOO8/Q== \r\n");
        body.extend(format!("x-amz-trailer-signature:{SIG_A}\r\n\r\n").bytes());
        let mut data = data_a.clone();
        data.extend(&data_b);
        let expected = ok(
            &data,
            vec![
                meta(8192, Some(SIG_A)),
                meta(4, Some(SIG_B)),
                meta(0, Some(SIG_Z)),
            ],
            &[
                ("x-amz-checksum-crc32c", "sOO8/Q=="),
                ("x-amz-trailer-signature", SIG_A),
            ],
        );
        // Every split point of an 8 KiB body is slow bytewise in debug builds, so the
        // exhaustive splits run on the framing around the data only.
        assert_eq!(decode_in_pieces(Some(8196), &[&body]), expected);
        let pieces: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_in_pieces(Some(8196), &pieces), expected);
        for at in (0..120).chain(8180..body.len()) {
            let (a, b) = body.split_at(at);
            assert_eq!(decode_in_pieces(None, &[a, b]), expected, "split {at}");
        }
    }

    #[test]
    fn small_signed_chunk_must_be_last() {
        let body = format!(
            "3;chunk-signature={SIG_A}\r\nabc\r\n3;chunk-signature={SIG_B}\r\ndef\r\n0;chunk-signature={SIG_Z}\r\n\r\n"
        );
        check(body.as_bytes(), None, &Err("InvalidChunkSizeError"));
        // Unsigned chunks may be any size.
        check(
            b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            None,
            &ok(
                b"abcdef",
                vec![meta(3, None), meta(3, None), meta(0, None)],
                &[],
            ),
        );
    }

    #[test]
    fn malformed_framing() {
        let bad = &Err("InvalidArgument");
        let truncated = &Err("IncompleteBody");
        for body in [
            &b"x\r\nabc\r\n0\r\n\r\n"[..],
            b"-3\r\nabc\r\n0\r\n\r\n",
            b"+3\r\nabc\r\n0\r\n\r\n",
            b" 3\r\nabc\r\n0\r\n\r\n",
            b"3 \r\nabc\r\n0\r\n\r\n",
            b"\r\nabc\r\n0\r\n\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcd\r\n0\r\n\r\n",
            b"3\r\nab\r\n\r\n0\r\n\r\n",
            b"3\r\nabc\n0\r\n\r\n",
            b"3\r\nabc\r\r\n0\r\n\r\n",
            b"3;foo=bar\r\nabc\r\n0\r\n\r\n",
            b"3;chunk-signature=abc\r\nabc\r\n0\r\n\r\n",
            b"3;chunk-signature=\r\nabc\r\n0\r\n\r\n",
            b"3;\r\nabc\r\n0\r\n\r\n",
            b"10000000000000000\r\n",
            b"4000001\r\n",
            b"0\r\n\r\nextra",
            b"0\r\n\r\n\r\n",
            b"0\r\nno colon\r\n\r\n",
            b"0\r\n:empty-name\r\n\r\n",
            b"0\r\nbad name:x\r\n\r\n",
            b"0\r\nname:x\n\r\n",
            b"0\r\nname:a\x01b\r\n\r\n",
            b"0\r\nname:\xff\r\n\r\n",
        ] {
            check(body, None, bad);
        }
        let mixed = format!("3\r\nabc\r\n0;chunk-signature={SIG_Z}\r\n\r\n");
        check(mixed.as_bytes(), None, bad);
        let twice = format!("0;chunk-signature={SIG_Z};chunk-signature={SIG_Z}\r\n\r\n");
        check(twice.as_bytes(), None, bad);
        for body in [
            &b""[..],
            b"3",
            b"3\r",
            b"3\r\n",
            b"3\r\nab",
            b"3\r\nabc",
            b"3\r\nabc\r",
            b"3\r\nabc\r\n",
            b"3\r\nabc\r\n0",
            b"3\r\nabc\r\n0\r\n",
            b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n",
            b"3\r\nabc\r\n0\r\n\r",
        ] {
            check(body, None, truncated);
        }
    }

    #[test]
    fn limits() {
        // A header line may take the limit with its CRLF, and not one byte more.
        let mut dec = ChunkedDecoder::new(None);
        assert_eq!(
            dec.push(&vec![b'1'; MAX_HEADER_LINE - 1], &mut Vec::new()),
            Ok(())
        );
        let mut dec = ChunkedDecoder::new(None);
        let err = dec.push(&vec![b'1'; MAX_HEADER_LINE], &mut Vec::new());
        assert_eq!(err, Err(ChunkedError::HeaderTooLong));
        let mut header = format!("0;chunk-signature={SIG_Z}\r\n");
        header.insert_str(0, &"0".repeat(MAX_HEADER_LINE - header.len()));
        let mut dec = ChunkedDecoder::new(None);
        // Within the limit, so the error is the over-long size, not the line length.
        let err = dec.push(header.as_bytes(), &mut Vec::new());
        assert_eq!(
            err,
            Err(ChunkedError::MalformedHeader(
                "the chunk size is not hexadecimal"
            ))
        );

        let max = format!("{MAX_CHUNK_SIZE:x}\r\n");
        let mut dec = ChunkedDecoder::new(None);
        assert_eq!(dec.push(max.as_bytes(), &mut Vec::new()), Ok(()));

        let mut trailers = b"0\r\n".to_vec();
        let line = format!("x-amz-meta-pad:{}\r\n", "v".repeat(1000));
        while trailers.len() + line.len() < MAX_TRAILER_BYTES {
            trailers.extend(line.as_bytes());
        }
        let mut within = trailers.clone();
        within.extend(b"\r\n");
        let mut dec = ChunkedDecoder::new(None);
        dec.push(&within, &mut Vec::new()).unwrap();
        assert!(dec.finish().is_ok());
        trailers.extend(line.as_bytes());
        trailers.extend(line.as_bytes());
        trailers.extend(b"\r\n");
        let mut dec = ChunkedDecoder::new(None);
        let err = dec.push(&trailers, &mut Vec::new()).unwrap_err();
        assert_eq!(err, ChunkedError::TrailerTooLong);
        // A single endless trailer line is stopped too.
        let mut dec = ChunkedDecoder::new(None);
        dec.push(b"0\r\nx:", &mut Vec::new()).unwrap();
        let err = dec.push(&vec![b'v'; MAX_TRAILER_BYTES], &mut Vec::new());
        assert_eq!(err, Err(ChunkedError::TrailerTooLong));
    }

    #[test]
    fn errors_are_sticky() {
        let mut dec = ChunkedDecoder::new(None);
        let mut out = Vec::new();
        assert!(dec.push(b"zz\r\n", &mut out).is_err());
        assert!(dec.push(b"0\r\n\r\n", &mut out).is_err());
        assert!(dec.finish().is_err());
    }

    /// A tiny deterministic generator, so the hostile-input tests need no dependency.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % bound.max(1)
        }
    }

    #[test]
    fn random_input_never_panics() {
        let alphabet = b"0123456789abcdefABCDEF;=:\r\n\r\n \xffxchunk-signature";
        let mut rng = Lcg(7);
        for _ in 0..3000 {
            let len = rng.next(200);
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.next(alphabet.len())])
                .collect();
            let mut dec = ChunkedDecoder::new(if rng.next(2) == 0 {
                None
            } else {
                Some(rng.next(50) as u64)
            });
            let mut out = Vec::new();
            let mut rest = &body[..];
            while !rest.is_empty() {
                let (piece, tail) = rest.split_at(1 + rng.next(rest.len()));
                rest = tail;
                let _ = dec.push(piece, &mut out);
                dec.take_completed_chunks();
            }
            let _ = dec.finish();
        }
    }

    /// The incremental signature walk from the module docs: hashing each chunk's data
    /// from the streamed output gives the same hashes as hashing the chunks whole.
    #[test]
    fn per_chunk_hashes_while_streaming() {
        let chunks: Vec<Vec<u8>> = vec![vec![1; 9000], vec![2; 8192], vec![3; 10]];
        let mut body = Vec::new();
        for c in &chunks {
            body.extend(format!("{:x};chunk-signature={SIG_A}\r\n", c.len()).bytes());
            body.extend(c);
            body.extend(b"\r\n");
        }
        body.extend(format!("0;chunk-signature={SIG_Z}\r\n\r\n").bytes());
        let mut want: Vec<[u8; 32]> = chunks.iter().map(|c| Sha256::digest(c).into()).collect();
        want.push(Sha256::digest(b"").into());

        for piece_len in [1, 5, 100, 4096, 8200, body.len()] {
            let mut dec = ChunkedDecoder::new(None);
            let mut hash = Sha256::new();
            let mut fed = 0usize;
            let mut got = Vec::new();
            for piece in body.chunks(piece_len) {
                let mut out = Vec::new();
                dec.push(piece, &mut out).unwrap();
                let mut pos = 0;
                for chunk in dec.take_completed_chunks() {
                    let need = chunk.size - fed;
                    hash.update(&out[pos..pos + need]);
                    pos += need;
                    fed = 0;
                    got.push(<[u8; 32]>::from(std::mem::take(&mut hash).finalize()));
                }
                hash.update(&out[pos..]);
                fed += out.len() - pos;
            }
            dec.finish().unwrap();
            assert_eq!(got, want, "pieces of {piece_len}");
        }
    }
}
