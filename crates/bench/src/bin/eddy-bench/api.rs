//! Eddy's AWS APIs as the benchmark uses them: function packages, CreateFunction,
//! UpdateFunctionConfiguration, Invoke requests, CreateFunctionUrlConfig, and API
//! Gateway v2's CreateApi.

use crate::client::{Body, Client, Reply, Signer};
use anyhow::{bail, Context};
use base64::Engine;
use bench::report_line::{self, Report};
use bytes::Bytes;
use http::{Method, Request};
use std::io::Write;

/// A function the benchmark creates.
pub struct Function {
    pub name: &'static str,
    pub label: &'static str,
    pub runtime: &'static str,
    pub handler: &'static str,
    pub zip: Vec<u8>,
}

/// Builds a zip of stored (uncompressed) entries; `mode` is the Unix permission the
/// unpacked file gets, which is how a `bootstrap` is made executable.
pub fn zip(entries: &[(&str, &[u8], u32)]) -> anyhow::Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, mode) in entries {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(*mode);
        w.start_file(*name, opts)?;
        w.write_all(data)?;
    }
    Ok(w.finish()?.into_inner())
}

/// The no-op `provided.al2023` function: the noop-bootstrap binary as `bootstrap`.
pub fn rust_noop(bootstrap: &[u8]) -> anyhow::Result<Function> {
    Ok(Function {
        name: "bench-rust-noop",
        label: "Rust no-op (provided.al2023)",
        runtime: "provided.al2023",
        handler: "bootstrap",
        zip: zip(&[("bootstrap", bootstrap, 0o755)])?,
    })
}

/// The Python hello-world function.
pub fn python_hello() -> anyhow::Result<Function> {
    Ok(Function {
        name: "bench-python-hello",
        label: "Python hello (python3.12)",
        runtime: "python3.12",
        handler: "app.handler",
        zip: zip(&[("app.py", b"def handler(e, c):\n    return {}\n", 0o644)])?,
    })
}

fn json_string(s: &str) -> String {
    // Names and handlers here are plain ASCII without quotes or backslashes.
    format!("\"{s}\"")
}

/// Signs and sends one control-plane call; anything but `want` is an error that shows the
/// request and the whole answer.
async fn call(
    client: &mut Client,
    signer: &Signer,
    method: Method,
    path: &str,
    body: String,
    want: u16,
) -> anyhow::Result<Reply> {
    let req = signer.request(method.clone(), path, Bytes::from(body.clone()), &[]);
    let r = client.send(req).await?;
    if r.status != want {
        bail!("{method} {path} {body} answered {}", r.whole());
    }
    Ok(r)
}

pub async fn create(client: &mut Client, signer: &Signer, f: &Function) -> anyhow::Result<()> {
    let code = base64::engine::general_purpose::STANDARD.encode(&f.zip);
    let body = format!(
        "{{\"FunctionName\":{},\"Runtime\":{},\"Handler\":{},\
         \"Role\":\"arn:aws:iam::000000000000:role/x\",\"Code\":{{\"ZipFile\":\"{code}\"}}}}",
        json_string(f.name),
        json_string(f.runtime),
        json_string(f.handler),
    );
    call(
        client,
        signer,
        Method::POST,
        "/2015-03-31/functions",
        body,
        201,
    )
    .await
    .with_context(|| format!("creating {}", f.name))?;
    Ok(())
}

/// Changes the description, which retires the function's environments: the next
/// invoke has to start a new one.
pub async fn retire_environments(
    client: &mut Client,
    signer: &Signer,
    name: &str,
    description: &str,
) -> anyhow::Result<()> {
    call(
        client,
        signer,
        Method::PUT,
        &format!("/2015-03-31/functions/{name}/configuration"),
        format!("{{\"Description\":{}}}", json_string(description)),
        200,
    )
    .await
    .with_context(|| format!("updating {name}"))?;
    Ok(())
}

/// A function URL: its address and the ARN of the function behind it.
pub struct FunctionUrl {
    pub url: String,
    pub function_arn: String,
}

/// CreateFunctionUrlConfig with `AuthType` `NONE` on the unqualified function.
pub async fn create_function_url(
    client: &mut Client,
    signer: &Signer,
    name: &str,
) -> anyhow::Result<FunctionUrl> {
    let r = call(
        client,
        signer,
        Method::POST,
        &format!("/2021-10-31/functions/{name}/url"),
        "{\"AuthType\":\"NONE\"}".into(),
        201,
    )
    .await
    .with_context(|| format!("creating a function URL for {name}"))?;
    let body = String::from_utf8_lossy(&r.body);
    let field = |f: &str| {
        json_str_field(&body, f)
            .with_context(|| format!("no {f} in the CreateFunctionUrlConfig answer {body}"))
    };
    Ok(FunctionUrl {
        url: field("FunctionUrl")?,
        function_arn: field("FunctionArn")?,
    })
}

/// An HTTP API: its id and its endpoint.
pub struct HttpApi {
    pub api_id: String,
    pub endpoint: String,
}

/// API Gateway v2 CreateApi, quick create: an HTTP API whose `$default` route on its
/// auto-deployed `$default` stage proxies to `target` (a function ARN) with payload 2.0.
/// API Gateway v2's wire names are lowerCamelCase (`protocolType`), unlike Lambda's.
pub async fn create_http_api(
    client: &mut Client,
    signer: &Signer,
    name: &str,
    target: &str,
) -> anyhow::Result<HttpApi> {
    let r = call(
        client,
        signer,
        Method::POST,
        "/v2/apis",
        format!(
            "{{\"name\":{},\"protocolType\":\"HTTP\",\"target\":{}}}",
            json_string(name),
            json_string(target)
        ),
        201,
    )
    .await
    .with_context(|| format!("creating the HTTP API {name}"))?;
    let body = String::from_utf8_lossy(&r.body);
    let field = |f: &str| {
        json_str_field(&body, f).with_context(|| format!("no {f} in the CreateApi answer {body}"))
    };
    Ok(HttpApi {
        api_id: field("apiId")?,
        endpoint: field("apiEndpoint")?,
    })
}

/// The value of a top-level string field in a JSON object, for the few plain-ASCII
/// fields the benchmark reads (ids, ARNs, URLs), which hold no escapes: not worth a
/// JSON parser in this crate.
fn json_str_field(body: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let rest = &body[body.find(&key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let value = &rest[..rest.find('"')?];
    (!value.contains('\\')).then(|| value.to_string())
}

/// The host and port of an `http://host:port/...` URL: the Host header its data plane
/// is addressed with.
pub fn authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}

pub fn invoke_path(name: &str) -> String {
    format!("/2015-03-31/functions/{name}/invocations")
}

/// A signed synchronous Invoke with payload `{}`; `tail` asks for the log tail.
pub fn invoke(signer: &Signer, name: &str, tail: bool) -> Request<Body> {
    let extra: &[(&'static str, &'static str)] = if tail {
        &[("x-amz-log-type", "Tail")]
    } else {
        &[]
    };
    signer.request(
        Method::POST,
        &invoke_path(name),
        Bytes::from_static(b"{}"),
        extra,
    )
}

/// The decoded log tail of a reply to an invoke that asked for it.
pub fn tail_text(r: &Reply) -> Option<String> {
    let b64 = r.headers.get("x-amz-log-result")?.to_str().ok()?;
    let tail = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(String::from_utf8_lossy(&tail).into_owned())
}

/// The `REPORT` line of a reply to an invoke that asked for the log tail.
pub fn tail_report(r: &Reply) -> Option<Report> {
    report_line::parse(&tail_text(r)?)
}

#[cfg(test)]
mod tests {
    use super::{authority, json_str_field};

    #[test]
    fn reads_string_fields() {
        let body = r#"{"FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:f", "FunctionUrl" : "http://abc.lambda-url.us-east-1.localhost:4566/","AuthType":"NONE"}"#;
        assert_eq!(
            json_str_field(body, "FunctionUrl").as_deref(),
            Some("http://abc.lambda-url.us-east-1.localhost:4566/")
        );
        assert_eq!(
            json_str_field(body, "FunctionArn").as_deref(),
            Some("arn:aws:lambda:us-east-1:000000000000:function:f")
        );
        assert_eq!(json_str_field(body, "Cors"), None);
        assert_eq!(json_str_field(r#"{"A":1}"#, "A"), None);
        assert_eq!(json_str_field(r#"{"A":"x\"y"}"#, "A"), None);
    }

    #[test]
    fn authority_of_urls() {
        assert_eq!(
            authority("http://abc.lambda-url.us-east-1.localhost:4566/"),
            Some("abc.lambda-url.us-east-1.localhost:4566")
        );
        assert_eq!(
            authority("http://a1b2c3d4e5.execute-api.localhost:4566"),
            Some("a1b2c3d4e5.execute-api.localhost:4566")
        );
        assert_eq!(authority("https://x/"), None);
        assert_eq!(authority("http:///"), None);
    }
}
