//! Durable state: one trait per concern (functions, the delivery outbox, logs, blobs), the
//! embedded backend that implements them (SQLite in WAL mode, blobs as files), and
//! [`Live`], a service's in-memory state written through to the resource store.
//!
//! Invariants: a method that returns `Ok` after a write has made it durable (the WAL is
//! synced, the blob file and its directory are synced). Values are opaque text chosen by
//! the owning service; this crate knows no AWS shapes.

mod blob;
mod live;
pub mod objects;
mod resources;
mod sqlite;

pub use blob::{BlobStore, BlobWrite, FsBlobStore};
pub use live::Live;
pub use objects::{
    BucketRecord, DeleteBucket, ObjectRecord, ObjectStore, PartRecord, UploadRecord,
};
pub use resources::{Resource, ResourceStore, ResourceWrite};
pub use sqlite::SqliteStore;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists")]
    Conflict,
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("blob store error: {0}")]
    Io(#[from] std::io::Error),
    /// The task running a commit off the async threads panicked or was cancelled.
    #[error("{0}")]
    Task(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One change to a function's records; a list of them is applied atomically.
#[derive(Debug, Clone)]
pub enum FunctionWrite {
    /// Creates the function; fails with `Conflict` when it exists.
    Create {
        meta: String,
    },
    SetMeta {
        meta: String,
    },
    PutVersion {
        version: String,
        config: String,
    },
    DeleteVersion {
        version: String,
    },
    PutAlias {
        alias: String,
        config: String,
    },
    DeleteAlias {
        alias: String,
    },
    /// Deletes the function with all its versions and aliases.
    Delete,
}

/// Functions, their versions and aliases. Each record is opaque JSON owned by the Lambda service.
pub trait FunctionStore: Send + Sync {
    fn function_meta(&self, region: &str, name: &str) -> Result<Option<String>>;
    /// Functions in name order after `after`, with their `$LATEST` config.
    fn list_functions(
        &self,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
    fn version(&self, region: &str, name: &str, version: &str) -> Result<Option<String>>;
    fn versions(&self, region: &str, name: &str) -> Result<Vec<(String, String)>>;
    fn alias(&self, region: &str, name: &str, alias: &str) -> Result<Option<String>>;
    fn aliases(&self, region: &str, name: &str) -> Result<Vec<(String, String)>>;
    /// Every function in every region, for start-up.
    fn all_functions(&self) -> Result<Vec<(String, String)>>;
    fn apply(&self, region: &str, name: &str, writes: &[FunctionWrite]) -> Result<()>;
}

/// A piece of work to deliver later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// Which deliverer handles it (for example `lambda-async`).
    pub kind: String,
    /// The deliverer's target (for example a function ARN).
    pub target: String,
    pub payload: Vec<u8>,
    /// Deliverer-owned JSON carried across attempts.
    pub meta: String,
    pub not_before_ms: i64,
}

/// A stored outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub payload: Vec<u8>,
    pub meta: String,
    pub attempt: u32,
    pub not_before_ms: i64,
    pub created_ms: i64,
}

/// The durable delivery outbox.
pub trait Outbox: Send + Sync {
    fn enqueue(&self, entry: &NewEntry, now_ms: i64) -> Result<i64>;
    /// Leases up to `limit` entries due at `now_ms`, oldest due first.
    fn claim_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>>;
    /// When the earliest unleased entry becomes due.
    fn next_due_ms(&self) -> Result<Option<i64>>;
    /// Removes a delivered entry and enqueues its follow-ups in the same transaction.
    fn complete(&self, id: i64, followups: &[NewEntry], now_ms: i64) -> Result<()>;
    /// Releases an entry for another attempt at `not_before_ms`.
    fn reschedule(&self, id: i64, attempt: u32, not_before_ms: i64, meta: &str) -> Result<()>;
    /// Releases every lease; called at start-up, when no delivery can be running.
    fn release_all(&self) -> Result<usize>;
    fn pending(&self) -> Result<u64>;
}

/// One log line to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub region: String,
    pub group: String,
    pub stream: String,
    pub timestamp_ms: i64,
    pub message: String,
}

/// A stored log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub id: i64,
    pub stream: String,
    pub timestamp_ms: i64,
    pub ingestion_ms: i64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupInfo {
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<i64>,
    pub stored_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamInfo {
    pub name: String,
    pub created_ms: i64,
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
    pub stored_bytes: i64,
}

/// Which events to read from a log group.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub streams: Option<Vec<String>>,
    pub stream_prefix: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Only events with an id above this (forward) or below it (backward).
    pub cursor: Option<i64>,
    pub backward: bool,
    pub limit: usize,
}

/// Stored function logs.
pub trait LogStore: Send + Sync {
    fn append(&self, records: &[LogRecord], now_ms: i64) -> Result<()>;
    fn groups(
        &self,
        region: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupInfo>>;
    fn streams(
        &self,
        region: &str,
        group: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogStreamInfo>>;
    fn group_exists(&self, region: &str, group: &str) -> Result<bool>;
    fn events(&self, region: &str, group: &str, query: &LogQuery) -> Result<Vec<LogEvent>>;
    /// Deletes events older than `before_ms`; returns how many.
    fn prune(&self, before_ms: i64) -> Result<u64>;
}
