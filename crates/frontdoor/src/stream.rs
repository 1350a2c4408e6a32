//! Function URLs with `InvokeMode` `RESPONSE_STREAM`: the answer goes to the client as
//! the function streams it. A function that writes the HTTP prelude (content type
//! `application/vnd.awslambda.http-integration-response`: a JSON document with
//! `statusCode`, `headers` and `cookies`, then eight zero bytes) chooses the status and
//! headers; any other stream is a `200` with the content type the function gave.

use bytes::Bytes;
use gateway::HttpResponse;
use lambda::{ResponseStream, StreamPiece};
use serde_json::Value;

/// The content type of a stream that starts with the HTTP prelude.
const PRELUDE_TYPE: &str = "application/vnd.awslambda.http-integration-response";
/// What ends the prelude.
const DELIMITER: [u8; 8] = [0; 8];
/// The longest prelude read before giving up on one.
const PRELUDE_BYTES_MAX: usize = 64 * 1024;

/// The response head, and the body to send after it; `None` when the function failed
/// (or broke its prelude) before anything could be sent.
pub(crate) async fn head(stream: &ResponseStream) -> Option<(HttpResponse, wire::ResponseStream)> {
    let mut rx = stream.take()?;
    let (head, first) = if stream.content_type.as_deref() == Some(PRELUDE_TYPE) {
        let mut buf: Vec<u8> = Vec::new();
        let split = loop {
            match rx.recv().await? {
                StreamPiece::Data(d) => buf.extend_from_slice(&d),
                StreamPiece::Failed(_) => return None,
            }
            if let Some(i) = buf.windows(DELIMITER.len()).position(|w| w == DELIMITER) {
                break i;
            }
            if buf.len() > PRELUDE_BYTES_MAX {
                return None;
            }
        };
        let prelude: Value = serde_json::from_slice(&buf[..split]).ok()?;
        let rest = Bytes::copy_from_slice(&buf[split + DELIMITER.len()..]);
        (head_of(&prelude), rest)
    } else {
        // Wait for the first piece: a function that fails before writing anything gets
        // the same answer as a buffered one.
        let first = match rx.recv().await {
            Some(StreamPiece::Data(d)) => d,
            Some(StreamPiece::Failed(_)) => return None,
            None => Bytes::new(),
        };
        let content_type = stream
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        (
            HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), content_type)],
                body: Bytes::new(),
            },
            first,
        )
    };
    let (tx, body) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        if !first.is_empty() && tx.send(Ok(first)).await.is_err() {
            return;
        }
        while let Some(piece) = rx.recv().await {
            let item = match piece {
                StreamPiece::Data(d) => Ok(d),
                // The client sees the body end without its last chunk: cut off.
                StreamPiece::Failed(e) => Err(std::io::Error::other(e)),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    Some((head, wire::ResponseStream::new(body)))
}

/// A stream's whole body, for a BUFFERED URL: `None` when it broke off or passed the
/// synchronous response limit.
pub(crate) async fn collect(body: wire::ResponseStream) -> Option<Bytes> {
    let mut rx = body.take()?;
    let mut out = Vec::new();
    while let Some(piece) = rx.recv().await {
        let d = piece.ok()?;
        if out.len() + d.len() > lambda::RESPONSE_BYTES_MAX {
            return None;
        }
        out.extend_from_slice(&d);
    }
    Some(Bytes::from(out))
}

/// The status and headers a prelude asks for.
fn head_of(prelude: &Value) -> HttpResponse {
    let status = prelude["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .unwrap_or(200);
    let mut headers: Vec<(String, String)> = prelude["headers"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    if !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), "application/octet-stream".into()));
    }
    for c in prelude["cookies"].as_array().into_iter().flatten() {
        if let Some(c) = c.as_str() {
            headers.push(("set-cookie".into(), c.to_string()));
        }
    }
    HttpResponse {
        status,
        headers,
        body: Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn preludes_set_status_headers_and_cookies() {
        let h = head_of(&json!({
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-A": "1"},
            "cookies": ["a=1", "b=2"],
        }));
        assert_eq!(h.status, 201);
        assert_eq!(h.header("content-type"), Some("text/plain"));
        assert_eq!(h.header("x-a"), Some("1"));
        let cookies: Vec<&str> = h
            .headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        let d = head_of(&json!({}));
        assert_eq!(d.status, 200);
        assert_eq!(d.header("content-type"), Some("application/octet-stream"));
        assert_eq!(head_of(&json!({"statusCode": 9999})).status, 200);
    }
}
