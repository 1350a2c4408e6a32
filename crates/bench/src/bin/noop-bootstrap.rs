//! A no-op Lambda custom runtime (`provided.al2023`): fetches each invocation from the
//! Runtime API and answers `{}`. It is the smallest possible function, so benchmarks
//! that use it measure the platform rather than the function.
//!
//! Plain blocking std: one thread, one keep-alive connection, one `write` per request,
//! so the runtime adds as little as possible on its side of the measurement. Its only
//! log line, written once per environment, says when the process started (see
//! `bench::startup_line`).

use bench::{http1, startup_line};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(api: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(api)?;
        // Requests are written whole; Nagle would only hold them back.
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    fn exchange(&mut self, request: &[u8]) -> std::io::Result<http1::Response> {
        self.writer.write_all(request)?;
        http1::read_response(&mut self.reader)
    }
}

fn main() -> ExitCode {
    let main_us = startup_line::now_us();
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("AWS_LAMBDA_RUNTIME_API is not set");
        return ExitCode::FAILURE;
    };
    let next_request = format!("GET {NEXT_PATH} HTTP/1.1\r\nHost: {api}\r\n\r\n").into_bytes();
    let mut conn: Option<Conn> = None;
    let mut failures = 0u32;
    let mut request = Vec::with_capacity(256);
    // Printed during the first invocation, not before it: only lines written while an
    // invocation runs reach that invocation's log tail.
    let mut startup = Some((main_us, startup_line::now_us()));
    loop {
        match serve_one(&api, &mut conn, &next_request, &mut request, &mut startup) {
            Ok(()) => failures = 0,
            Err(e) => {
                // A dropped connection is retried once on a fresh one; the platform
                // stopping the environment is the only normal way out of this loop.
                conn = None;
                failures += 1;
                if failures > 3 {
                    eprintln!("runtime API unreachable: {e}");
                    return ExitCode::FAILURE;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn serve_one(
    api: &str,
    conn: &mut Option<Conn>,
    next_request: &[u8],
    request: &mut Vec<u8>,
    startup: &mut Option<(u64, u64)>,
) -> std::io::Result<()> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(Conn::open(api)?),
    };
    let next = c.exchange(next_request)?;
    if next.close {
        *conn = None;
    }
    if next.status != 200 {
        return Err(std::io::Error::other(format!(
            "next invocation answered {}",
            next.status
        )));
    }
    let Some(id) = next.header("lambda-runtime-aws-request-id") else {
        return Err(std::io::Error::other(
            "next invocation without a request id",
        ));
    };
    if let Some((main_us, next_us)) = startup.take() {
        eprintln!("{}", startup_line::format(main_us, next_us));
    }
    request.clear();
    write!(
        request,
        "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: {api}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    )?;
    let c = match conn {
        Some(c) => c,
        None => conn.insert(Conn::open(api)?),
    };
    let posted = c.exchange(request)?;
    if posted.close {
        *conn = None;
    }
    if posted.status != 202 {
        eprintln!("response post answered {}", posted.status);
    }
    Ok(())
}
