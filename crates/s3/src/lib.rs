//! The S3 API (`s3/2006-03-01`, rest-xml): buckets, objects, listing, multipart uploads,
//! integrity checks, and notifications that invoke functions through the delivery outbox.

pub mod checksum;
pub mod chunked;
pub mod error;
mod intake;
pub mod list;
mod multipart;
pub mod names;
pub mod router;
mod service;
pub mod xml;

pub use service::{S3Config, S3};
