//! A blocking HTTP/1.1 response reader over any `BufRead`, for the no-op bootstrap and
//! the start-up health probe, where an async client would cost more than it measures.
//!
//! It understands the framings a Runtime API or health endpoint can use:
//! `Content-Length`, `Transfer-Encoding: chunked`, bodiless statuses, and
//! read-until-close.

use std::io::{self, BufRead, Read};

/// One response. Header names are kept as received; look-ups ignore case.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The server will close the connection after this response.
    pub close: bool,
}

impl Response {
    /// The first value of header `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Heads longer than this are refused rather than buffered without bound.
const HEAD_BYTES_MAX: usize = 64 * 1024;

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads one line including its `\n`, failing at end of stream so a peer that hung up
/// is distinguishable from an empty line.
fn read_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>, budget: &mut usize) -> io::Result<()> {
    line.clear();
    let n = r.take(*budget as u64).read_until(b'\n', line)?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if line.last() != Some(&b'\n') {
        return Err(bad("response head too long or cut short"));
    }
    *budget -= n;
    Ok(())
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads one complete response (head and body) from `r`.
pub fn read_response<R: BufRead>(r: &mut R) -> io::Result<Response> {
    let mut budget = HEAD_BYTES_MAX;
    let mut line = Vec::with_capacity(128);
    read_line(r, &mut line, &mut budget)?;
    let status_line = std::str::from_utf8(trim_crlf(&line)).map_err(|_| bad("status line"))?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1.x response"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status code"))?;

    let mut resp = Response {
        status,
        // HTTP/1.0 closes by default; 1.1 keeps the connection unless told otherwise.
        close: version == "HTTP/1.0",
        ..Response::default()
    };
    loop {
        read_line(r, &mut line, &mut budget)?;
        let l = trim_crlf(&line);
        if l.is_empty() {
            break;
        }
        let l = std::str::from_utf8(l).map_err(|_| bad("header line"))?;
        let (name, value) = l.split_once(':').ok_or_else(|| bad("header line"))?;
        resp.headers
            .push((name.trim().to_string(), value.trim().to_string()));
    }
    if let Some(c) = resp.header("connection") {
        if c.eq_ignore_ascii_case("close") {
            resp.close = true;
        } else if c.eq_ignore_ascii_case("keep-alive") {
            resp.close = false;
        }
    }

    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        resp.body = read_chunked(r)?;
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("content-length"))?;
        resp.body = vec![0; len];
        r.read_exact(&mut resp.body)?;
    } else if !(status < 200 || status == 204 || status == 304) {
        // No framing: the body runs to the end of the connection.
        r.read_to_end(&mut resp.body)?;
        resp.close = true;
    }
    Ok(resp)
}

fn read_chunked<R: BufRead>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = Vec::with_capacity(32);
    let mut budget = HEAD_BYTES_MAX;
    loop {
        read_line(r, &mut line, &mut budget)?;
        let size_text = std::str::from_utf8(trim_crlf(&line)).map_err(|_| bad("chunk size"))?;
        // Chunk extensions (`;name=value`) carry nothing this reader needs.
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
        if size == 0 {
            // Trailers end with an empty line like the head does.
            loop {
                read_line(r, &mut line, &mut budget)?;
                if trim_crlf(&line).is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        read_line(r, &mut line, &mut budget)?;
        if !trim_crlf(&line).is_empty() {
            return Err(bad("chunk not followed by CRLF"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn keep_alive_responses_back_to_back() {
        let wire = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: abc\r\n\
                     content-length: 2\r\n\r\n{}\
                     HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n";
        let mut r = Cursor::new(&wire[..]);
        let first = read_response(&mut r).unwrap();
        assert_eq!(first.status, 200);
        assert_eq!(first.header("lambda-runtime-aws-request-id"), Some("abc"));
        assert_eq!(first.body, b"{}");
        assert!(!first.close);
        let second = read_response(&mut r).unwrap();
        assert_eq!(second.status, 202);
        assert_eq!(second.body.len(), 16);
        let eof = read_response(&mut r).unwrap_err();
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn chunked_and_close() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                     3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: 1\r\n\r\n";
        let resp = read_response(&mut Cursor::new(&wire[..])).unwrap();
        assert_eq!(resp.body, b"abcde");
        assert!(resp.close);
    }

    #[test]
    fn unframed_and_bodiless() {
        let wire = b"HTTP/1.0 200 OK\r\n\r\nhello";
        let resp = read_response(&mut Cursor::new(&wire[..])).unwrap();
        assert_eq!(resp.body, b"hello");
        assert!(resp.close);

        let wire = b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n";
        let mut r = Cursor::new(&wire[..]);
        assert!(read_response(&mut r).unwrap().body.is_empty());
        // The next response's head is only partly there.
        assert!(read_response(&mut r).is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert!(read_response(&mut Cursor::new(&b"SSH-2.0-x\r\n\r\n"[..])).is_err());
        assert!(read_response(&mut Cursor::new(&b"HTTP/1.1 abc OK\r\n\r\n"[..])).is_err());
        let truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read_response(&mut Cursor::new(&truncated[..])).is_err());
    }
}
