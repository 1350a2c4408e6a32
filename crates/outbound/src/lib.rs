//! Connections Eddy opens to other servers: the HTTP backends of APIs, the key sets of
//! JWT issuers, SNS's http and https subscribers. `http://` goes over plain TCP,
//! `https://` over TLS (rustls) checked against the Mozilla root certificates, plus the
//! certificates in the PEM file `SSL_CERT_FILE` names (a private CA, as OpenSSL-based
//! tools read it).

use hyper::client::conn::http1::SendRequest;
use rustls::pki_types::pem::PemObject;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncWrite};

/// A connection, plain or encrypted.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The TLS settings every connection shares, built on first use.
fn tls() -> &'static Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            let text = std::fs::read(&path)
                .map_err(|e| format!("reading SSL_CERT_FILE {}: {e}", path.display()))?;
            let mut added = 0;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&text) {
                let cert = cert.map_err(|e| format!("SSL_CERT_FILE {}: {e}", path.display()))?;
                if roots.add(cert).is_ok() {
                    added += 1;
                }
            }
            tracing::debug!("trusting {added} certificates from {}", path.display());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    })
}

/// An HTTP/1.1 connection to the server `uri` names (`http://` or `https://`), driven in
/// the background until the sender is dropped.
pub async fn connect<B>(uri: &http::Uri) -> Result<SendRequest<B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(format!(
                "{uri}: only http:// and https:// URLs are supported"
            ))
        }
    };
    let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?;
    // IPv6 literals come bracketed in a URI, not in a socket address or a server name.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("{uri}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if https {
        let config = tls().as_ref().map_err(Clone::clone)?.clone();
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| format!("{uri}: {e}"))?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{uri}: TLS: {e}"))?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| format!("{uri}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The `Host` header for a request to `uri`.
pub fn host_header(uri: &http::Uri) -> String {
    match (uri.host(), uri.port_u16()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_other_schemes() {
        let uri: http::Uri = "ftp://example.com/x".parse().unwrap();
        let err = connect::<http_body_empty::Empty>(&uri).await.err().unwrap();
        assert!(err.contains("only http:// and https://"), "{err}");
    }

    #[test]
    fn tls_settings_build_with_the_bundled_roots() {
        assert!(tls().is_ok());
        let uri: http::Uri = "https://[::1]:8443/a".parse().unwrap();
        assert_eq!(host_header(&uri), "[::1]:8443");
    }

    mod http_body_empty {
        /// A body with nothing in it, for the type parameter.
        pub struct Empty;
        impl hyper::body::Body for Empty {
            type Data = bytes::Bytes;
            type Error = std::convert::Infallible;
            fn poll_frame(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>>
            {
                std::task::Poll::Ready(None)
            }
        }
    }
}
