//! The embedded backend: one SQLite database in WAL mode with full sync, so a commit that
//! returned survives `kill -9` and power loss.

use crate::objects::*;
use crate::*;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS functions(
    region TEXT NOT NULL, name TEXT NOT NULL, meta TEXT NOT NULL,
    PRIMARY KEY(region, name));
CREATE TABLE IF NOT EXISTS function_versions(
    region TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, config TEXT NOT NULL,
    PRIMARY KEY(region, name, version));
CREATE TABLE IF NOT EXISTS function_aliases(
    region TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL, config TEXT NOT NULL,
    PRIMARY KEY(region, name, alias));
CREATE TABLE IF NOT EXISTS outbox(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL, target TEXT NOT NULL, payload BLOB NOT NULL, meta TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL, leased INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(leased, not_before_ms);
CREATE TABLE IF NOT EXISTS buckets(
    name TEXT PRIMARY KEY, region TEXT NOT NULL, created_ms INTEGER NOT NULL,
    config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects(
    bucket TEXT NOT NULL, key TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL, meta TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY(bucket, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads(
    upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,
    created_ms INTEGER NOT NULL, meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS uploads_bucket ON uploads(bucket, key);
CREATE TABLE IF NOT EXISTS parts(
    upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, blob TEXT NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, last_modified_ms INTEGER NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY(upload_id, part_number));
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS resources(
    kind TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    due_ms INTEGER,
    PRIMARY KEY(kind, scope, name)) WITHOUT ROWID;
"#;

/// Function logs live in a database of their own: they are written constantly, are not
/// acknowledged to any client, and so neither need a sync per commit nor should hold the
/// main database's write lock.
const LOG_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS log_groups(
    region TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,
    retention_days INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(region, name));
CREATE TABLE IF NOT EXISTS log_streams(
    region TEXT NOT NULL, grp TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,
    first_ms INTEGER, last_ms INTEGER, last_ingest_ms INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(region, grp, name));
CREATE TABLE IF NOT EXISTS log_stream_ids(
    sid INTEGER PRIMARY KEY, region TEXT NOT NULL, grp TEXT NOT NULL, name TEXT NOT NULL,
    UNIQUE(region, grp, name));
CREATE TABLE IF NOT EXISTS log_lines(
    id INTEGER PRIMARY KEY AUTOINCREMENT, sid INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL, ingest_ms INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_lines_stream ON log_lines(sid, id);
CREATE INDEX IF NOT EXISTS log_lines_ts ON log_lines(ts_ms);
"#;

/// Data dirs written before lines named their stream by number keep their lines (and the
/// lines' ids, which clients hold as tokens): moved over once, then the old table goes.
const LOG_MIGRATION: &str = r#"
INSERT OR IGNORE INTO log_stream_ids(region, grp, name)
    SELECT DISTINCT region, grp, stream FROM log_events;
INSERT INTO log_lines(id, sid, ts_ms, ingest_ms, message)
    SELECT e.id, s.sid, e.ts_ms, e.ingest_ms, e.message
    FROM log_events e JOIN log_stream_ids s
        ON s.region = e.region AND s.grp = e.grp AND s.name = e.stream
    ORDER BY e.id;
DROP TABLE log_events;
"#;

/// The SQLite store. One connection behind a mutex: SQLite serialises writers anyway, and
/// every statement here is short, so a pool would add nothing but contention.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    logs: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: the WAL is synced at every commit, so an acknowledged write is durable.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        conn.execute_batch(SCHEMA)?;
        let mut logs = Connection::open(path.with_extension("logs.db"))?;
        logs.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL: in WAL mode still crash-consistent; a power cut may lose the last lines.
        logs.pragma_update(None, "synchronous", "NORMAL")?;
        logs.pragma_update(None, "busy_timeout", 5000)?;
        logs.execute_batch(LOG_SCHEMA)?;
        migrate_logs(&mut logs)?;
        Ok(Self {
            conn: Mutex::new(conn),
            logs: Mutex::new(logs),
        })
    }

    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        let logs = Connection::open_in_memory()?;
        logs.execute_batch(LOG_SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            logs: Mutex::new(logs),
        })
    }

    fn logs_conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (the transaction
        // rolls back on drop), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn pairs(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

impl FunctionStore for SqliteStore {
    fn function_meta(&self, region: &str, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT meta FROM functions WHERE region=?1 AND name=?2",
                params![region, name],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn list_functions(
        &self,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        Ok(pairs(
            &self.conn(),
            "SELECT f.name, v.config FROM functions f JOIN function_versions v
               ON v.region=f.region AND v.name=f.name AND v.version='$LATEST'
             WHERE f.region=?1 AND f.name > ?2 ORDER BY f.name LIMIT ?3",
            params![region, after.unwrap_or(""), limit as i64],
        )?)
    }

    fn version(&self, region: &str, name: &str, version: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT config FROM function_versions WHERE region=?1 AND name=?2 AND version=?3",
                params![region, name, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn versions(&self, region: &str, name: &str) -> Result<Vec<(String, String)>> {
        // `$LATEST` first, then numeric order, as ListVersionsByFunction shows them.
        Ok(pairs(
            &self.conn(),
            "SELECT version, config FROM function_versions WHERE region=?1 AND name=?2
             ORDER BY CASE WHEN version='$LATEST' THEN -1 ELSE CAST(version AS INTEGER) END",
            params![region, name],
        )?)
    }

    fn alias(&self, region: &str, name: &str, alias: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT config FROM function_aliases WHERE region=?1 AND name=?2 AND alias=?3",
                params![region, name, alias],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn aliases(&self, region: &str, name: &str) -> Result<Vec<(String, String)>> {
        Ok(pairs(
            &self.conn(),
            "SELECT alias, config FROM function_aliases WHERE region=?1 AND name=?2 ORDER BY alias",
            params![region, name],
        )?)
    }

    fn all_functions(&self) -> Result<Vec<(String, String)>> {
        Ok(pairs(
            &self.conn(),
            "SELECT region, name FROM functions ORDER BY region, name",
            [],
        )?)
    }

    fn apply(&self, region: &str, name: &str, writes: &[FunctionWrite]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for w in writes {
            match w {
                FunctionWrite::Create { meta } => {
                    let n = tx.execute(
                        "INSERT OR IGNORE INTO functions(region, name, meta) VALUES (?1, ?2, ?3)",
                        params![region, name, meta],
                    )?;
                    if n == 0 {
                        return Err(StoreError::Conflict);
                    }
                }
                FunctionWrite::SetMeta { meta } => {
                    tx.execute(
                        "UPDATE functions SET meta=?3 WHERE region=?1 AND name=?2",
                        params![region, name, meta],
                    )?;
                }
                FunctionWrite::PutVersion { version, config } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO function_versions(region, name, version, config)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![region, name, version, config],
                    )?;
                }
                FunctionWrite::DeleteVersion { version } => {
                    tx.execute(
                        "DELETE FROM function_versions WHERE region=?1 AND name=?2 AND version=?3",
                        params![region, name, version],
                    )?;
                }
                FunctionWrite::PutAlias { alias, config } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO function_aliases(region, name, alias, config)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![region, name, alias, config],
                    )?;
                }
                FunctionWrite::DeleteAlias { alias } => {
                    tx.execute(
                        "DELETE FROM function_aliases WHERE region=?1 AND name=?2 AND alias=?3",
                        params![region, name, alias],
                    )?;
                }
                FunctionWrite::Delete => {
                    for t in ["functions", "function_versions", "function_aliases"] {
                        tx.execute(
                            &format!("DELETE FROM {t} WHERE region=?1 AND name=?2"),
                            params![region, name],
                        )?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

impl ResourceStore for SqliteStore {
    fn resources(&self, kind: &str) -> Result<Vec<Resource>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT scope, name, body, due_ms FROM resources WHERE kind=?1 ORDER BY scope, name",
        )?;
        let rows = st.query_map([kind], |r| {
            Ok(Resource {
                kind: kind.to_string(),
                scope: r.get(0)?,
                name: r.get(1)?,
                body: r.get(2)?,
                due_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn apply_resources_unsynced(&self, writes: &[ResourceWrite], now_ms: i64) -> Result<()> {
        // One lock throughout, so no other commit runs while syncing is off.
        let mut conn = self.conn();
        conn.pragma_update(None, "synchronous", "OFF")?;
        let applied = apply_resource_writes(&mut conn, writes, &[], now_ms);
        // Back to a sync per commit for everything else, whatever happened.
        conn.pragma_update(None, "synchronous", "FULL")?;
        applied
    }

    fn apply_resources(
        &self,
        writes: &[ResourceWrite],
        entries: &[NewEntry],
        now_ms: i64,
    ) -> Result<()> {
        apply_resource_writes(&mut self.conn(), writes, entries, now_ms)
    }
}

fn apply_resource_writes(
    conn: &mut Connection,
    writes: &[ResourceWrite],
    entries: &[NewEntry],
    now_ms: i64,
) -> Result<()> {
    {
        let tx = conn.transaction()?;
        for w in writes {
            match w {
                ResourceWrite::Put(r) => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO resources(kind, scope, name, body, due_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![r.kind, r.scope, r.name, r.body, r.due_ms])?;
                }
                ResourceWrite::SetDue {
                    kind,
                    scope,
                    name,
                    due_ms,
                } => {
                    tx.prepare_cached(
                        "UPDATE resources SET due_ms=?4 WHERE kind=?1 AND scope=?2 AND name=?3",
                    )?
                    .execute(params![kind, scope, name, due_ms])?;
                }
                ResourceWrite::Delete { kind, scope, name } => {
                    tx.prepare_cached(
                        "DELETE FROM resources WHERE kind=?1 AND scope=?2 AND name=?3",
                    )?
                    .execute(params![kind, scope, name])?;
                }
            }
        }
        for e in entries {
            insert_entry(&tx, e, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn insert_entry(conn: &Connection, e: &NewEntry, now_ms: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox(kind, target, payload, meta, not_before_ms, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.kind,
        e.target,
        e.payload,
        e.meta,
        e.not_before_ms,
        now_ms
    ])?;
    Ok(conn.last_insert_rowid())
}

impl Outbox for SqliteStore {
    fn enqueue(&self, entry: &NewEntry, now_ms: i64) -> Result<i64> {
        Ok(insert_entry(&self.conn(), entry, now_ms)?)
    }

    fn claim_due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let entries = {
            let mut st = tx.prepare_cached(
                "SELECT id, kind, target, payload, meta, attempt, not_before_ms, created_ms
                 FROM outbox WHERE leased=0 AND not_before_ms <= ?1
                 ORDER BY not_before_ms, id LIMIT ?2",
            )?;
            let rows = st.query_map(params![now_ms, limit as i64], |r| {
                Ok(OutboxEntry {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    target: r.get(2)?,
                    payload: r.get(3)?,
                    meta: r.get(4)?,
                    attempt: r.get(5)?,
                    not_before_ms: r.get(6)?,
                    created_ms: r.get(7)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        {
            let mut st = tx.prepare_cached("UPDATE outbox SET leased=1 WHERE id=?1")?;
            for e in &entries {
                st.execute([e.id])?;
            }
        }
        tx.commit()?;
        Ok(entries)
    }

    fn next_due_ms(&self) -> Result<Option<i64>> {
        Ok(self.conn().query_row(
            "SELECT MIN(not_before_ms) FROM outbox WHERE leased=0",
            [],
            |r| r.get(0),
        )?)
    }

    fn complete(&self, id: i64, followups: &[NewEntry], now_ms: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM outbox WHERE id=?1", [id])?;
        for f in followups {
            insert_entry(&tx, f, now_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn reschedule(&self, id: i64, attempt: u32, not_before_ms: i64, meta: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET leased=0, attempt=?2, not_before_ms=?3, meta=?4 WHERE id=?1",
            params![id, attempt, not_before_ms, meta],
        )?;
        Ok(())
    }

    fn release_all(&self) -> Result<usize> {
        Ok(self
            .conn()
            .execute("UPDATE outbox SET leased=0 WHERE leased=1", [])?)
    }

    fn pending(&self) -> Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}

/// What one batch adds to one stream.
struct StreamBatch {
    sid: i64,
    first: i64,
    last: i64,
    bytes: i64,
}

fn migrate_logs(logs: &mut Connection) -> Result<()> {
    let old: bool = logs.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type='table' AND name='log_events')",
        [],
        |r| r.get(0),
    )?;
    if old {
        let tx = logs.transaction()?;
        tx.execute_batch(LOG_MIGRATION)?;
        tx.commit()?;
    }
    Ok(())
}

impl LogStore for SqliteStore {
    fn append(&self, records: &[LogRecord], now_ms: i64) -> Result<()> {
        let mut conn = self.logs_conn();
        let tx = conn.transaction()?;
        {
            let mut group = tx.prepare_cached(
                "INSERT INTO log_groups(region, name, created_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET stored_bytes = stored_bytes + ?4",
            )?;
            let mut stream = tx.prepare_cached(
                "INSERT INTO log_streams(region, grp, name, created_ms, first_ms, last_ms,
                     last_ingest_ms, stored_bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?4, ?6)
                 ON CONFLICT DO UPDATE SET
                    first_ms = MIN(COALESCE(first_ms, ?5), ?5),
                    last_ms = MAX(COALESCE(last_ms, ?5), ?5),
                    last_ingest_ms = ?4, stored_bytes = stored_bytes + ?6",
            )?;
            let mut event = tx.prepare_cached(
                "INSERT INTO log_lines(sid, ts_ms, ingest_ms, message) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut find = tx.prepare_cached(
                "SELECT sid FROM log_stream_ids WHERE region=?1 AND grp=?2 AND name=?3",
            )?;
            let mut add = tx.prepare_cached(
                "INSERT INTO log_stream_ids(region, grp, name) VALUES (?1, ?2, ?3)",
            )?;
            // One upsert per stream and group of the batch, not per line: a busy function
            // writes thousands of lines a second into the same stream.
            let mut per_stream: std::collections::BTreeMap<(&str, &str, &str), StreamBatch> =
                Default::default();
            for r in records {
                let key = (r.region.as_str(), r.group.as_str(), r.stream.as_str());
                let e = match per_stream.entry(key) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let sid = match find
                            .query_row(params![key.0, key.1, key.2], |row| row.get::<_, i64>(0))
                        {
                            Ok(sid) => sid,
                            Err(rusqlite::Error::QueryReturnedNoRows) => {
                                add.execute(params![key.0, key.1, key.2])?;
                                tx.last_insert_rowid()
                            }
                            Err(e) => return Err(e.into()),
                        };
                        v.insert(StreamBatch {
                            sid,
                            first: r.timestamp_ms,
                            last: r.timestamp_ms,
                            bytes: 0,
                        })
                    }
                };
                e.first = e.first.min(r.timestamp_ms);
                e.last = e.last.max(r.timestamp_ms);
                e.bytes += r.message.len() as i64;
                event.execute(params![e.sid, r.timestamp_ms, now_ms, r.message])?;
            }
            for ((region, grp, name), b) in per_stream {
                let (first, last, size) = (b.first, b.last, b.bytes);
                group.execute(params![region, grp, now_ms, size])?;
                stream.execute(params![region, grp, name, now_ms, first, size])?;
                if last != first {
                    stream.execute(params![region, grp, name, now_ms, last, 0])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn groups(
        &self,
        region: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupInfo>> {
        let conn = self.logs_conn();
        let mut st = conn.prepare_cached(
            "SELECT name, created_ms, retention_days, stored_bytes FROM log_groups
             WHERE region=?1 AND substr(name, 1, length(?2)) = ?2 AND name > ?3
             ORDER BY name LIMIT ?4",
        )?;
        let rows = st.query_map(
            params![
                region,
                prefix.unwrap_or(""),
                after.unwrap_or(""),
                limit as i64
            ],
            |r| {
                Ok(LogGroupInfo {
                    name: r.get(0)?,
                    created_ms: r.get(1)?,
                    retention_days: r.get(2)?,
                    stored_bytes: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn streams(
        &self,
        region: &str,
        group: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogStreamInfo>> {
        let conn = self.logs_conn();
        let mut st = conn.prepare_cached(
            "SELECT name, created_ms, first_ms, last_ms, last_ingest_ms, stored_bytes
             FROM log_streams
             WHERE region=?1 AND grp=?2 AND substr(name, 1, length(?3)) = ?3 AND name > ?4
             ORDER BY name LIMIT ?5",
        )?;
        let rows = st.query_map(
            params![
                region,
                group,
                prefix.unwrap_or(""),
                after.unwrap_or(""),
                limit as i64
            ],
            |r| {
                Ok(LogStreamInfo {
                    name: r.get(0)?,
                    created_ms: r.get(1)?,
                    first_event_ms: r.get(2)?,
                    last_event_ms: r.get(3)?,
                    last_ingestion_ms: r.get(4)?,
                    stored_bytes: r.get(5)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn group_exists(&self, region: &str, group: &str) -> Result<bool> {
        Ok(self
            .logs_conn()
            .query_row(
                "SELECT 1 FROM log_groups WHERE region=?1 AND name=?2",
                params![region, group],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn events(&self, region: &str, group: &str, q: &LogQuery) -> Result<Vec<LogEvent>> {
        // The group's streams first, so the lines are found through their streams' index.
        let mut sql = String::from(
            "SELECT l.id, s.name, l.ts_ms, l.ingest_ms, l.message
             FROM log_lines l JOIN log_stream_ids s ON s.sid = l.sid
             WHERE l.sid IN (SELECT sid FROM log_stream_ids WHERE region=?1 AND grp=?2",
        );
        let mut args: Vec<rusqlite::types::Value> =
            vec![region.to_string().into(), group.to_string().into()];
        let mut push = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(streams) = &q.streams {
            sql.push_str(" AND name IN (");
            for (i, s) in streams.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                push(&mut sql, "?", s.clone().into());
            }
            sql.push(')');
        }
        if let Some(p) = &q.stream_prefix {
            push(
                &mut sql,
                " AND substr(name, 1, length(?)) = ?",
                p.clone().into(),
            );
        }
        sql.push(')');
        if let Some(s) = q.start_ms {
            push(&mut sql, " AND l.ts_ms >= ?", s.into());
        }
        if let Some(e) = q.end_ms {
            push(&mut sql, " AND l.ts_ms <= ?", e.into());
        }
        if let Some(c) = q.cursor {
            let clause = if q.backward {
                " AND l.id < ?"
            } else {
                " AND l.id > ?"
            };
            push(&mut sql, clause, c.into());
        }
        sql.push_str(if q.backward {
            " ORDER BY l.id DESC"
        } else {
            " ORDER BY l.id"
        });
        push(&mut sql, " LIMIT ?", (q.limit as i64).into());
        let conn = self.logs_conn();
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok(LogEvent {
                id: r.get(0)?,
                stream: r.get(1)?,
                timestamp_ms: r.get(2)?,
                ingestion_ms: r.get(3)?,
                message: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn prune(&self, before_ms: i64) -> Result<u64> {
        Ok(self
            .logs_conn()
            .execute("DELETE FROM log_lines WHERE ts_ms < ?1", [before_ms])? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, due: i64) -> NewEntry {
        NewEntry {
            kind: kind.into(),
            target: "t".into(),
            payload: b"{}".to_vec(),
            meta: "{}".into(),
            not_before_ms: due,
        }
    }

    #[test]
    fn functions_create_conflict_and_delete() {
        let s = SqliteStore::in_memory().unwrap();
        let create = [
            FunctionWrite::Create { meta: "m".into() },
            FunctionWrite::PutVersion {
                version: "$LATEST".into(),
                config: "c".into(),
            },
        ];
        s.apply("r", "f", &create).unwrap();
        assert!(matches!(
            s.apply("r", "f", &create),
            Err(StoreError::Conflict)
        ));
        s.apply(
            "r",
            "f",
            &[
                FunctionWrite::PutVersion {
                    version: "2".into(),
                    config: "c2".into(),
                },
                FunctionWrite::PutVersion {
                    version: "10".into(),
                    config: "c10".into(),
                },
            ],
        )
        .unwrap();
        let versions: Vec<_> = s
            .versions("r", "f")
            .unwrap()
            .into_iter()
            .map(|v| v.0)
            .collect();
        assert_eq!(versions, ["$LATEST", "2", "10"]);
        assert_eq!(s.list_functions("r", None, 10).unwrap().len(), 1);
        assert_eq!(s.list_functions("other", None, 10).unwrap().len(), 0);
        s.apply("r", "f", &[FunctionWrite::Delete]).unwrap();
        assert_eq!(s.function_meta("r", "f").unwrap(), None);
        assert!(s.versions("r", "f").unwrap().is_empty());
    }

    #[test]
    fn resources_apply_atomically_with_entries() {
        let s = SqliteStore::in_memory().unwrap();
        let res = |name: &str, due: Option<i64>| Resource {
            kind: "events.rule".into(),
            scope: "us-east-1/default".into(),
            name: name.into(),
            body: format!("{{\"n\":\"{name}\"}}"),
            due_ms: due,
        };
        s.apply_resources(
            &[
                ResourceWrite::Put(res("b", None)),
                ResourceWrite::Put(res("a", Some(5))),
            ],
            &[entry("k", 0)],
            1,
        )
        .unwrap();
        assert_eq!(
            s.resources("events.rule").unwrap(),
            vec![res("a", Some(5)), res("b", None)]
        );
        assert_eq!(s.pending().unwrap(), 1);
        s.apply_resources(
            &[
                ResourceWrite::SetDue {
                    kind: "events.rule".into(),
                    scope: "us-east-1/default".into(),
                    name: "a".into(),
                    due_ms: Some(9),
                },
                ResourceWrite::Delete {
                    kind: "events.rule".into(),
                    scope: "us-east-1/default".into(),
                    name: "b".into(),
                },
            ],
            &[],
            2,
        )
        .unwrap();
        assert_eq!(s.resources("events.rule").unwrap(), vec![res("a", Some(9))]);
        assert!(s.resources("events.bus").unwrap().is_empty());
    }

    #[test]
    fn outbox_claims_due_entries_once() {
        let s = SqliteStore::in_memory().unwrap();
        let a = s.enqueue(&entry("k", 10), 0).unwrap();
        s.enqueue(&entry("k", 100), 0).unwrap();
        assert!(s.claim_due(5, 10).unwrap().is_empty());
        let got = s.claim_due(50, 10).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, a);
        assert!(
            s.claim_due(50, 10).unwrap().is_empty(),
            "leased entries are not claimed twice"
        );
        assert_eq!(s.next_due_ms().unwrap(), Some(100));
        s.reschedule(a, 1, 20, "{\"x\":1}").unwrap();
        let again = s.claim_due(50, 10).unwrap();
        assert_eq!(again[0].attempt, 1);
        assert_eq!(again[0].meta, "{\"x\":1}");
        s.complete(a, &[entry("follow", 0)], 60).unwrap();
        assert_eq!(s.pending().unwrap(), 2);
        assert_eq!(s.release_all().unwrap(), 0);
    }

    #[test]
    fn logs_append_and_query() {
        let s = SqliteStore::in_memory().unwrap();
        let rec = |stream: &str, ts: i64, m: &str| LogRecord {
            region: "r".into(),
            group: "/aws/lambda/f".into(),
            stream: stream.into(),
            timestamp_ms: ts,
            message: m.into(),
        };
        s.append(
            &[rec("a", 1, "one"), rec("b", 2, "two"), rec("a", 3, "three")],
            9,
        )
        .unwrap();
        assert!(s.group_exists("r", "/aws/lambda/f").unwrap());
        let streams = s.streams("r", "/aws/lambda/f", None, None, 10).unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].first_event_ms, Some(1));
        assert_eq!(streams[0].last_event_ms, Some(3));
        let q = LogQuery {
            streams: Some(vec!["a".into()]),
            limit: 10,
            ..Default::default()
        };
        let ev = s.events("r", "/aws/lambda/f", &q).unwrap();
        assert_eq!(
            ev.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["one", "three"]
        );
        let q = LogQuery {
            stream_prefix: Some("b".into()),
            start_ms: Some(2),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.events("r", "/aws/lambda/f", &q).unwrap().len(), 1);
        assert_eq!(s.prune(3).unwrap(), 2);
    }

    #[test]
    fn logs_written_by_the_old_layout_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eddy.db");
        {
            let old = Connection::open(path.with_extension("logs.db")).unwrap();
            old.execute_batch(
                "CREATE TABLE log_events(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    region TEXT NOT NULL, grp TEXT NOT NULL, stream TEXT NOT NULL,
                    ts_ms INTEGER NOT NULL, ingest_ms INTEGER NOT NULL, message TEXT NOT NULL);
                 INSERT INTO log_events VALUES (7, 'r', 'g', 'a', 1, 1, 'one');
                 INSERT INTO log_events VALUES (9, 'r', 'g', 'b', 2, 2, 'two');",
            )
            .unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let all = LogQuery {
            limit: 10,
            ..Default::default()
        };
        let ev = s.events("r", "g", &all).unwrap();
        assert_eq!(
            ev.iter()
                .map(|e| (e.id, e.stream.as_str(), e.message.as_str()))
                .collect::<Vec<_>>(),
            [(7, "a", "one"), (9, "b", "two")]
        );
        s.append(
            &[LogRecord {
                region: "r".into(),
                group: "g".into(),
                stream: "a".into(),
                timestamp_ms: 3,
                message: "three".into(),
            }],
            3,
        )
        .unwrap();
        let ev = s.events("r", "g", &all).unwrap();
        assert_eq!(ev.len(), 3);
        assert!(ev[2].id > 9, "new lines come after the moved ones");
        drop(s);
        // Opening again finds nothing left to move.
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.events("r", "g", &all).unwrap().len(), 3);
    }
}

const OBJECT_COLUMNS: &str = "bucket, key, blob, size, etag, last_modified_ms, meta, seq";

fn object_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectRecord> {
    Ok(ObjectRecord {
        bucket: r.get(0)?,
        key: r.get(1)?,
        blob: r.get(2)?,
        size: r.get(3)?,
        etag: r.get(4)?,
        last_modified_ms: r.get(5)?,
        meta: r.get(6)?,
        seq: r.get(7)?,
    })
}

fn upload_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UploadRecord> {
    Ok(UploadRecord {
        upload_id: r.get(0)?,
        bucket: r.get(1)?,
        key: r.get(2)?,
        created_ms: r.get(3)?,
        meta: r.get(4)?,
    })
}

fn next_seq(tx: &Connection) -> rusqlite::Result<i64> {
    tx.query_row(
        "INSERT INTO counters(name, value) VALUES ('object_seq', 1)
         ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
        [],
        |r| r.get(0),
    )
}

/// Writes an object record in an open transaction; returns the stored record and the
/// blob it replaced.
fn write_object(
    tx: &Connection,
    record: &ObjectRecord,
    followups: &dyn Fn(&ObjectRecord) -> Vec<NewEntry>,
    now_ms: i64,
) -> rusqlite::Result<(ObjectRecord, Option<String>)> {
    let old: Option<String> = tx
        .query_row(
            "SELECT blob FROM objects WHERE bucket=?1 AND key=?2",
            params![record.bucket, record.key],
            |r| r.get(0),
        )
        .optional()?;
    let mut stored = record.clone();
    stored.seq = next_seq(tx)?;
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO objects({OBJECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        stored.bucket,
        stored.key,
        stored.blob,
        stored.size,
        stored.etag,
        stored.last_modified_ms,
        stored.meta,
        stored.seq
    ])?;
    for f in followups(&stored) {
        insert_entry(tx, &f, now_ms)?;
    }
    Ok((stored, old.filter(|b| *b != record.blob)))
}

impl ObjectStore for SqliteStore {
    fn create_bucket(&self, b: &BucketRecord) -> Result<()> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO buckets(name, region, created_ms, config) VALUES (?1, ?2, ?3, ?4)",
            params![b.name, b.region, b.created_ms, b.config],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    fn bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT name, region, created_ms, config FROM buckets WHERE name=?1")?
            .query_row([name], |r| {
                Ok(BucketRecord {
                    name: r.get(0)?,
                    region: r.get(1)?,
                    created_ms: r.get(2)?,
                    config: r.get(3)?,
                })
            })
            .optional()?)
    }

    fn buckets(&self) -> Result<Vec<BucketRecord>> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached("SELECT name, region, created_ms, config FROM buckets ORDER BY name")?;
        let rows = st.query_map([], |r| {
            Ok(BucketRecord {
                name: r.get(0)?,
                region: r.get(1)?,
                created_ms: r.get(2)?,
                config: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_bucket_config(&self, name: &str, config: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "UPDATE buckets SET config=?2 WHERE name=?1",
            params![name, config],
        )? > 0)
    }

    fn delete_bucket(&self, name: &str) -> Result<DeleteBucket> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists = tx
            .query_row("SELECT 1 FROM buckets WHERE name=?1", [name], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Ok(DeleteBucket::NotFound);
        }
        let busy = tx
            .query_row(
                "SELECT 1 FROM objects WHERE bucket=?1 LIMIT 1",
                [name],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if busy {
            return Ok(DeleteBucket::NotEmpty);
        }
        // Uploads in progress go with the bucket, as S3 does; their part blobs become
        // unreferenced and the blob sweep removes them.
        tx.execute(
            "DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket=?1)",
            [name],
        )?;
        tx.execute("DELETE FROM uploads WHERE bucket=?1", [name])?;
        tx.execute("DELETE FROM buckets WHERE name=?1", [name])?;
        tx.commit()?;
        Ok(DeleteBucket::Deleted)
    }

    fn put_object(
        &self,
        record: &ObjectRecord,
        followups: &dyn Fn(&ObjectRecord) -> Vec<NewEntry>,
        now_ms: i64,
    ) -> Result<(ObjectRecord, Option<String>)> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let out = write_object(&tx, record, followups, now_ms)?;
        tx.commit()?;
        Ok(out)
    }

    fn object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        Ok(self
            .conn()
            .prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=?1 AND key=?2"
            ))?
            .query_row(params![bucket, key], object_row)
            .optional()?)
    }

    fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        followups: &dyn Fn(&ObjectRecord, i64) -> Vec<NewEntry>,
        now_ms: i64,
    ) -> Result<Option<ObjectRecord>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let old = tx
            .prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=?1 AND key=?2"
            ))?
            .query_row(params![bucket, key], object_row)
            .optional()?;
        if let Some(o) = &old {
            tx.execute(
                "DELETE FROM objects WHERE bucket=?1 AND key=?2",
                params![bucket, key],
            )?;
            let seq = next_seq(&tx)?;
            for f in followups(o, seq) {
                insert_entry(&tx, &f, now_ms)?;
            }
        }
        tx.commit()?;
        Ok(old)
    }

    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start: &str,
        inclusive: bool,
        limit: usize,
    ) -> Result<Vec<ObjectRecord>> {
        let conn = self.conn();
        // Byte order is S3's order; SQLite compares TEXT with memcmp (BINARY collation).
        let (start, inclusive) = if start >= prefix {
            (start, inclusive)
        } else {
            (prefix, true)
        };
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket=?1 AND key {} ?2
             AND substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?4",
            if inclusive { ">=" } else { ">" }
        );
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map(params![bucket, start, prefix, limit as i64], object_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn create_upload(&self, u: &UploadRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO uploads(upload_id, bucket, key, created_ms, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![u.upload_id, u.bucket, u.key, u.created_ms, u.meta],
        )?;
        Ok(())
    }

    fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT upload_id, bucket, key, created_ms, meta FROM uploads WHERE upload_id=?1",
            )?
            .query_row([upload_id], upload_row)
            .optional()?)
    }

    fn uploads(&self, bucket: &str, prefix: &str, limit: usize) -> Result<Vec<UploadRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT upload_id, bucket, key, created_ms, meta FROM uploads
             WHERE bucket=?1 AND substr(key, 1, length(?2)) = ?2
             ORDER BY key, created_ms LIMIT ?3",
        )?;
        let rows = st.query_map(params![bucket, prefix, limit as i64], upload_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn put_part(&self, upload_id: &str, p: &PartRecord) -> Result<Option<String>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let old: Option<String> = tx
            .query_row(
                "SELECT blob FROM parts WHERE upload_id=?1 AND part_number=?2",
                params![upload_id, p.part_number],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "INSERT OR REPLACE INTO parts(upload_id, part_number, blob, size, etag, last_modified_ms, meta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![upload_id, p.part_number, p.blob, p.size, p.etag, p.last_modified_ms, p.meta],
        )?;
        tx.commit()?;
        Ok(old)
    }

    fn parts(&self, upload_id: &str) -> Result<Vec<PartRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT part_number, blob, size, etag, last_modified_ms, meta FROM parts
             WHERE upload_id=?1 ORDER BY part_number",
        )?;
        let rows = st.query_map([upload_id], |r| {
            Ok(PartRecord {
                part_number: r.get(0)?,
                blob: r.get(1)?,
                size: r.get(2)?,
                etag: r.get(3)?,
                last_modified_ms: r.get(4)?,
                meta: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn finish_upload(
        &self,
        upload_id: &str,
        object: Option<(&ObjectRecord, Followups<'_>)>,
        now_ms: i64,
    ) -> Result<(Option<ObjectRecord>, Option<String>, Vec<String>)> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let blobs: Vec<String> = {
            let mut st = tx.prepare_cached("SELECT blob FROM parts WHERE upload_id=?1")?;
            let rows = st.query_map([upload_id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.execute("DELETE FROM parts WHERE upload_id=?1", [upload_id])?;
        tx.execute("DELETE FROM uploads WHERE upload_id=?1", [upload_id])?;
        let (stored, replaced) = match object {
            Some((rec, followups)) => {
                let (s, r) = write_object(&tx, rec, followups, now_ms)?;
                (Some(s), r)
            }
            None => (None, None),
        };
        tx.commit()?;
        Ok((stored, replaced, blobs))
    }

    fn referenced_blobs(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT blob FROM objects UNION ALL SELECT blob FROM parts")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod object_tests {
    use super::*;

    fn obj(bucket: &str, key: &str, blob: &str) -> ObjectRecord {
        ObjectRecord {
            bucket: bucket.into(),
            key: key.into(),
            blob: blob.into(),
            size: 1,
            etag: "e".into(),
            last_modified_ms: 0,
            meta: "{}".into(),
            seq: 0,
        }
    }

    #[test]
    fn objects_replace_list_and_delete() {
        let s = SqliteStore::in_memory().unwrap();
        s.create_bucket(&BucketRecord {
            name: "b".into(),
            region: "r".into(),
            created_ms: 0,
            config: "{}".into(),
        })
        .unwrap();
        let (first, old) = s
            .put_object(&obj("b", "a/1", "x1"), &|_| vec![], 0)
            .unwrap();
        assert_eq!(old, None);
        let (second, old) = s
            .put_object(&obj("b", "a/1", "x2"), &|_| vec![], 0)
            .unwrap();
        assert_eq!(
            old.as_deref(),
            Some("x1"),
            "the replaced blob is handed back"
        );
        assert!(second.seq > first.seq);
        for k in ["a/2", "b/1", "a/\u{e9}", "a/Z"] {
            s.put_object(&obj("b", k, k), &|_| vec![], 0).unwrap();
        }
        let keys: Vec<String> = s
            .list_objects("b", "a/", "", false, 10)
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["a/1", "a/2", "a/Z", "a/\u{e9}"]);
        let after: Vec<String> = s
            .list_objects("b", "a/", "a/2", false, 10)
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(after, ["a/Z", "a/\u{e9}"]);
        assert_eq!(s.delete_bucket("b").unwrap(), DeleteBucket::NotEmpty);
        let notify = |o: &ObjectRecord, _seq: i64| {
            vec![NewEntry {
                kind: "k".into(),
                target: o.key.clone(),
                payload: vec![],
                meta: "{}".into(),
                not_before_ms: 0,
            }]
        };
        let gone = s.delete_object("b", "a/1", &notify, 0).unwrap();
        assert_eq!(gone.unwrap().blob, "x2");
        assert_eq!(
            s.pending().unwrap(),
            1,
            "the notification is stored with the delete"
        );
        assert!(s.delete_object("b", "a/1", &notify, 0).unwrap().is_none());
    }

    #[test]
    fn multipart_completion_is_one_transaction() {
        let s = SqliteStore::in_memory().unwrap();
        s.create_upload(&UploadRecord {
            upload_id: "u".into(),
            bucket: "b".into(),
            key: "k".into(),
            created_ms: 0,
            meta: "{}".into(),
        })
        .unwrap();
        let part = |n: i32, blob: &str| PartRecord {
            part_number: n,
            blob: blob.into(),
            size: 5,
            etag: "e".into(),
            last_modified_ms: 0,
            meta: "{}".into(),
        };
        assert_eq!(s.put_part("u", &part(1, "p1")).unwrap(), None);
        assert_eq!(
            s.put_part("u", &part(1, "p1b")).unwrap().as_deref(),
            Some("p1")
        );
        s.put_part("u", &part(2, "p2")).unwrap();
        assert_eq!(s.parts("u").unwrap().len(), 2);
        let (stored, replaced, blobs) = s
            .finish_upload("u", Some((&obj("b", "k", "whole"), &|_| vec![])), 0)
            .unwrap();
        assert_eq!(stored.unwrap().blob, "whole");
        assert_eq!(replaced, None);
        assert_eq!(blobs.len(), 2);
        assert!(s.upload("u").unwrap().is_none());
        assert!(s.parts("u").unwrap().is_empty());
    }
}
