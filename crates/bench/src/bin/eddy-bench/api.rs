//! Eddy's Lambda API as the benchmark uses it: function packages, CreateFunction,
//! UpdateFunctionConfiguration, and Invoke requests.

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

async fn call(
    client: &mut Client,
    signer: &Signer,
    method: Method,
    path: &str,
    body: String,
    want: u16,
) -> anyhow::Result<Reply> {
    let req = signer.request(method.clone(), path, Bytes::from(body), &[]);
    let r = client.send(req).await?;
    if r.status != want {
        bail!(
            "{method} {path} answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
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
