//! Object storage metadata: buckets, objects and multipart uploads. Object data lives in
//! the blob store; these records name their blobs.

use crate::{NewEntry, Result};

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRecord {
    pub name: String,
    pub region: String,
    pub created_ms: i64,
    /// Service-owned JSON (notification configuration, tags, ...).
    pub config: String,
}

/// One object version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    pub bucket: String,
    pub key: String,
    /// The blob holding the data.
    pub blob: String,
    pub size: i64,
    pub etag: String,
    pub last_modified_ms: i64,
    /// Service-owned JSON (content headers, user metadata, checksums, tags).
    pub meta: String,
    /// Increases with every write of any key: S3's notification `sequencer`.
    pub seq: i64,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub created_ms: i64,
    pub meta: String,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    pub part_number: i32,
    pub blob: String,
    pub size: i64,
    pub etag: String,
    pub last_modified_ms: i64,
    /// Service-owned JSON (checksums).
    pub meta: String,
}

/// Computes the outbox entries (notifications) a stored object causes, from the record
/// as stored (with its sequence number).
pub type Followups<'a> = &'a dyn Fn(&ObjectRecord) -> Vec<NewEntry>;

/// Why a bucket could not be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteBucket {
    Deleted,
    NotFound,
    NotEmpty,
}

/// Bucket, object and multipart metadata.
pub trait ObjectStore: Send + Sync {
    /// Creates a bucket; `Conflict` when the name is taken.
    fn create_bucket(&self, bucket: &BucketRecord) -> Result<()>;
    fn bucket(&self, name: &str) -> Result<Option<BucketRecord>>;
    fn buckets(&self) -> Result<Vec<BucketRecord>>;
    fn set_bucket_config(&self, name: &str, config: &str) -> Result<bool>;
    fn delete_bucket(&self, name: &str) -> Result<DeleteBucket>;

    /// Stores an object record (replacing any) and its notifications atomically; the
    /// record's `seq` is assigned here. Returns the record stored and the blob of the
    /// replaced object, which the caller deletes.
    fn put_object(
        &self,
        record: &ObjectRecord,
        followups: Followups<'_>,
        now_ms: i64,
    ) -> Result<(ObjectRecord, Option<String>)>;
    fn object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>>;
    /// Deletes an object and stores its notifications atomically; returns the deleted
    /// record (its blob is the caller's to delete).
    fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        followups: &dyn Fn(&ObjectRecord, i64) -> Vec<NewEntry>,
        now_ms: i64,
    ) -> Result<Option<ObjectRecord>>;
    /// Objects with keys starting with `prefix`, from `start` on (`inclusive`) or
    /// strictly after it, in byte order.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start: &str,
        inclusive: bool,
        limit: usize,
    ) -> Result<Vec<ObjectRecord>>;

    fn create_upload(&self, upload: &UploadRecord) -> Result<()>;
    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>>;
    fn uploads(&self, bucket: &str, prefix: &str, limit: usize) -> Result<Vec<UploadRecord>>;
    /// Stores a part, replacing one with the same number; returns the replaced blob.
    fn put_part(&self, upload_id: &str, part: &PartRecord) -> Result<Option<String>>;
    fn parts(&self, upload_id: &str) -> Result<Vec<PartRecord>>;
    /// Ends an upload: removes it and its parts, and (when completing) stores the object
    /// and its notifications in the same transaction. Returns the stored record, the
    /// replaced object's blob, and the parts' blobs, which the caller deletes.
    fn finish_upload(
        &self,
        upload_id: &str,
        object: Option<(&ObjectRecord, Followups<'_>)>,
        now_ms: i64,
    ) -> Result<(Option<ObjectRecord>, Option<String>, Vec<String>)>;
    /// Every blob a record names, for the orphan sweep.
    fn referenced_blobs(&self) -> Result<Vec<String>>;
}
