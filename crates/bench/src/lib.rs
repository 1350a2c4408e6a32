//! The pure pieces of Eddy's benchmarks, kept apart from the binaries so they can be
//! unit-tested: percentiles, a blocking HTTP/1.1 response reader, the Lambda `REPORT`
//! line parser, the no-op bootstrap's start-up line and a UTC date formatter.

pub mod date;
pub mod http1;
pub mod report_line;
pub mod startup_line;
pub mod stats;
