//! Service state kept in memory and written through to the store: [`Live`].
//!
//! Invariant: memory changes only after the store commit of that change succeeded, and
//! only under the writer lock, so memory never runs ahead of what is durable and changes
//! apply to memory in commit order. Readers never wait for a commit: they read the state
//! as of the last change that finished.

use crate::{NewEntry, ResourceStore, ResourceWrite, Result, StoreError};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A service's in-memory state `S` and the store it is written through to.
///
/// A change takes [`Live::lock`], computes its writes from [`Live::read`], awaits
/// [`Live::commit`], and only then edits memory through [`Live::write`].
pub struct Live<S> {
    store: Arc<dyn ResourceStore>,
    /// Read by every call without waiting for a writer's store commit.
    state: RwLock<S>,
    /// Held across a change's store commit, so changes apply to memory in commit order
    /// and never interleave (a tokio lock: it is held across an await).
    writer: tokio::sync::Mutex<()>,
}

impl<S> Live<S> {
    /// `state` as loaded from `store`.
    pub fn new(store: Arc<dyn ResourceStore>, state: S) -> Self {
        Self {
            store,
            state: RwLock::new(state),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// The state as of the last change that finished.
    pub fn read(&self) -> RwLockReadGuard<'_, S> {
        // Memory changes only after the store commit succeeded, by code that cannot panic
        // half-way through an update, so a poisoned lock still holds consistent data.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The state to edit: only under [`Live::lock`], once the change's commit succeeded.
    pub fn write(&self) -> RwLockWriteGuard<'_, S> {
        debug_assert!(
            self.writer.try_lock().is_err(),
            "memory changed without the writer lock"
        );
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer lock: hold it from reading what a change builds on until its edit of
    /// memory is done.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Applies `writes` in one transaction without a sync, off the async threads (see
    /// [`ResourceStore::apply_resources_unsynced`]).
    pub async fn commit_unsynced(&self, writes: Vec<ResourceWrite>, now_ms: i64) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.apply_resources_unsynced(&writes, now_ms))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Applies `writes` and enqueues `entries` in one transaction, off the async threads
    /// and returns once they are durable. Nothing to store commits nothing.
    pub async fn commit(
        &self,
        writes: Vec<ResourceWrite>,
        entries: Vec<NewEntry>,
        now_ms: i64,
    ) -> Result<()> {
        if writes.is_empty() && entries.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.apply_resources(&writes, &entries, now_ms))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Resource, SqliteStore};

    fn put(name: &str) -> ResourceWrite {
        ResourceWrite::Put(Resource {
            kind: "test.thing".into(),
            scope: "us-east-1".into(),
            name: name.into(),
            body: "{}".into(),
            due_ms: None,
        })
    }

    #[tokio::test]
    async fn commits_through_to_the_store() {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let live = Live::new(store.clone(), Vec::<String>::new());
        {
            let _w = live.lock().await;
            live.commit(vec![put("a")], vec![], 1).await.unwrap();
            live.write().push("a".into());
        }
        live.commit(vec![], vec![], 2).await.unwrap();
        assert_eq!(*live.read(), ["a"]);
        let stored = store.resources("test.thing").unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].name, "a");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "memory changed without the writer lock")]
    fn memory_changes_only_under_the_writer_lock() {
        let live = Live::new(Arc::new(SqliteStore::in_memory().unwrap()), 0u32);
        *live.write() += 1;
    }
}
