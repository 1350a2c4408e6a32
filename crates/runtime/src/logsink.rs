//! The log writer: environments' lines go through a bounded channel to one thread that
//! stores them in batches, so a chatty function costs the request path nothing but a send.

use crate::LogSink;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;
use store::{LogRecord, LogStore};

/// Lines waiting to be stored before new ones are dropped (and counted).
pub const QUEUE_LINES_MAX: usize = 50_000;
const BATCH_LINES_MAX: usize = 2_000;
/// How long lines gather after the first of a batch arrives.
const COLLECT_FOR: Duration = Duration::from_millis(20);

/// A [`LogSink`] that stores into a [`LogStore`].
pub struct StoreSink {
    tx: SyncSender<LogRecord>,
    dropped: AtomicU64,
}

impl StoreSink {
    /// Starts the writer thread. It ends when every sender is gone.
    pub fn start(store: Arc<dyn LogStore>) -> Arc<Self> {
        let (tx, rx) = sync_channel(QUEUE_LINES_MAX);
        std::thread::Builder::new()
            .name("eddy-log-writer".into())
            .spawn(move || writer(store, rx))
            .expect("spawning the log writer thread");
        Arc::new(Self {
            tx,
            dropped: AtomicU64::new(0),
        })
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl LogSink for StoreSink {
    fn emit(&self, region: &str, group: &str, stream: &str, timestamp_ms: i64, line: String) {
        let rec = LogRecord {
            region: region.to_owned(),
            group: group.to_owned(),
            stream: stream.to_owned(),
            timestamp_ms,
            message: line,
        };
        if let Err(TrySendError::Full(_)) = self.tx.try_send(rec) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn writer(store: Arc<dyn LogStore>, rx: Receiver<LogRecord>) {
    let mut batch = Vec::with_capacity(BATCH_LINES_MAX);
    loop {
        match rx.recv() {
            Ok(r) => batch.push(r),
            Err(_) => return,
        }
        // Lines keep arriving while a function is busy: let them gather for a moment so
        // one commit stores many. Sleeping rather than waiting on the channel spares each
        // sender a wake-up call.
        std::thread::sleep(COLLECT_FOR);
        loop {
            while batch.len() < BATCH_LINES_MAX {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            let full = batch.len() == BATCH_LINES_MAX;
            flush(&*store, &mut batch);
            if !full {
                break;
            }
        }
    }
}

fn flush(store: &dyn LogStore, batch: &mut Vec<LogRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.append(batch, wire::time::now_ms()) {
        tracing::warn!("could not store {} log lines: {e}", batch.len());
    }
    batch.clear();
}
