//! Named service resources (event buses, rules, schedules, schedule groups, and later
//! queues, topics and parameters): opaque JSON records that their service keeps in memory
//! and writes through here, optionally with a timer (`due_ms`) and outbox entries that
//! commit in the same transaction.

use crate::{NewEntry, Result};

/// One stored resource. `kind` names the resource type (`events.rule`), `scope` what it
/// lives in (a region, a region and bus), `name` is unique within the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: String,
    pub scope: String,
    pub name: String,
    /// Service-owned JSON.
    pub body: String,
    /// When the resource's timer fires next, if it has one.
    pub due_ms: Option<i64>,
}

/// One change; a list of them and outbox entries are applied atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceWrite {
    /// Creates or replaces the resource.
    Put(Resource),
    /// Moves the resource's timer; a resource that no longer exists is left alone.
    SetDue {
        kind: String,
        scope: String,
        name: String,
        due_ms: Option<i64>,
    },
    Delete {
        kind: String,
        scope: String,
        name: String,
    },
}

impl ResourceWrite {
    /// Creates or replaces the resource `kind`/`scope`/`name` with `body`, no timer.
    pub fn put(
        kind: impl Into<String>,
        scope: impl Into<String>,
        name: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self::Put(Resource {
            kind: kind.into(),
            scope: scope.into(),
            name: name.into(),
            body: body.into(),
            due_ms: None,
        })
    }

    /// Deletes the resource `kind`/`scope`/`name`.
    pub fn delete(
        kind: impl Into<String>,
        scope: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self::Delete {
            kind: kind.into(),
            scope: scope.into(),
            name: name.into(),
        }
    }
}

/// Service resources.
pub trait ResourceStore: Send + Sync {
    /// Every resource of `kind`, in (scope, name) order: services load them at start-up.
    fn resources(&self, kind: &str) -> Result<Vec<Resource>>;
    /// Applies `writes` and enqueues `entries` in one transaction.
    fn apply_resources(
        &self,
        writes: &[ResourceWrite],
        entries: &[NewEntry],
        now_ms: i64,
    ) -> Result<()>;
    /// Applies `writes` in one transaction without waiting for the disk: they survive the
    /// process being killed (they are in the operating system's hands) but not a power
    /// cut. For state that is cheap to lose and written often (message visibility).
    fn apply_resources_unsynced(&self, writes: &[ResourceWrite], now_ms: i64) -> Result<()> {
        self.apply_resources(writes, &[], now_ms)
    }
}
