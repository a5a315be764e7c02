//! Durable object storage: SQLite (WAL, `synchronous=FULL`) holding the latest JSON of every
//! object plus an event log, mirrored in memory for reads, and a broadcast channel for live
//! watches. One global, strictly increasing revision numbers every write (the resourceVersion).

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use tokio::sync::broadcast;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("storage: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored document is not valid JSON.
    #[error("storage: corrupt object {key}: {source}")]
    Corrupt {
        /// Key of the object.
        key: String,
        /// JSON error.
        source: serde_json::Error,
    },
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// Upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
    fn parse(s: &str) -> EventType {
        match s {
            "ADDED" => EventType::Added,
            "DELETED" => EventType::Deleted,
            _ => EventType::Modified,
        }
    }
}

/// One change, as recorded in the event log.
#[derive(Debug, Clone)]
pub struct Event {
    /// Revision of this change.
    pub rv: u64,
    /// Kind of change.
    pub kind: EventType,
    /// Resource key (`group/plural`).
    pub resource: String,
    /// Namespace (empty for cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object after the change (the final state for deletions).
    pub object: Arc<Value>,
    /// `object` serialized as JSON (what was written to storage), shared by every watcher
    /// so that an event is encoded once, not once per watch.
    pub data: Arc<str>,
    /// The object before the change, when known (live events only).
    pub prev: Option<Arc<Value>>,
}

type Objects = BTreeMap<String, BTreeMap<(String, String), Arc<Value>>>;

struct Inner {
    conn: Connection,
    objects: Objects,
    rv: u64,
    /// Recent events, oldest first; `history_start` is the lowest revision a watch may resume from.
    recent: VecDeque<Arc<Event>>,
    history_start: u64,
    writes_since_compact: u64,
    /// An SQLite transaction is open (group commit): writes since the last flush.
    in_txn: bool,
    /// Events of the open transaction, broadcast when it commits.
    pending: Vec<Arc<Event>>,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
    history: usize,
    /// Highest revision known to be on disk.
    durable: std::sync::atomic::AtomicU64,
    /// Serializes flushes so concurrent writers share one fsync (group commit).
    flusher: tokio::sync::Mutex<()>,
}

/// Number of events kept for watch resumption.
pub const DEFAULT_HISTORY: usize = 20_000;

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with_history(path, DEFAULT_HISTORY)
    }

    /// Opens the database keeping `history` events for watch resumption.
    pub fn open_with_history(path: &Path, history: usize) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS objects (
                resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                rv INTEGER NOT NULL, data TEXT NOT NULL,
                PRIMARY KEY (resource, namespace, name));
             CREATE TABLE IF NOT EXISTS events (
                rv INTEGER PRIMARY KEY, type TEXT NOT NULL, resource TEXT NOT NULL,
                namespace TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);",
        )?;
        let mut objects: Objects = BTreeMap::new();
        {
            let mut stmt = conn.prepare("SELECT resource, namespace, name, data FROM objects")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for row in rows {
                let (res, ns, name, data) = row?;
                let v: Value =
                    serde_json::from_str(&data).map_err(|source| StoreError::Corrupt {
                        key: format!("{res}/{ns}/{name}"),
                        source,
                    })?;
                objects
                    .entry(res)
                    .or_default()
                    .insert((ns, name), Arc::new(v));
            }
        }
        let max_event: Option<u64> =
            conn.query_row("SELECT MAX(rv) FROM events", [], |r| r.get(0))?;
        let stored_rv: Option<u64> = conn
            .query_row("SELECT v FROM meta WHERE k='rv'", [], |r| r.get(0))
            .optional()?;
        let rv = max_event.unwrap_or(0).max(stored_rv.unwrap_or(0));
        let mut recent = VecDeque::new();
        {
            let mut stmt = conn.prepare(
                "SELECT rv, type, resource, namespace, name, data FROM events WHERE rv > ?1 ORDER BY rv",
            )?;
            let from = rv.saturating_sub(history as u64);
            let rows = stmt.query_map(params![from], |r| {
                Ok((
                    r.get::<_, u64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            for row in rows {
                let (erv, ty, res, ns, name, data) = row?;
                let object: Value =
                    serde_json::from_str(&data).map_err(|source| StoreError::Corrupt {
                        key: format!("event {erv}"),
                        source,
                    })?;
                recent.push_back(Arc::new(Event {
                    rv: erv,
                    kind: EventType::parse(&ty),
                    resource: res,
                    namespace: ns,
                    name,
                    object: Arc::new(object),
                    data: data.into(),
                    prev: None,
                }));
            }
        }
        let history_start = recent.front().map(|e| e.rv).unwrap_or(rv + 1);
        let (tx, _) = broadcast::channel(65_536);
        Ok(Store {
            inner: Mutex::new(Inner {
                conn,
                objects,
                rv,
                recent,
                history_start,
                writes_since_compact: 0,
                in_txn: false,
                pending: Vec::new(),
            }),
            tx,
            history,
            durable: std::sync::atomic::AtomicU64::new(rv),
            flusher: tokio::sync::Mutex::new(()),
        })
    }

    /// Locks the store for a read-modify-write sequence. Keep the guard for a short, synchronous
    /// critical section (no `.await` while holding it).
    pub fn txn(&self) -> Txn<'_> {
        let guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        Txn {
            g: guard,
            store: self,
        }
    }

    /// The current revision.
    pub fn revision(&self) -> u64 {
        self.txn().revision()
    }

    /// Waits until every write up to the current revision is durable, flushing (one fsync for
    /// all writers that queued meanwhile) when needed. Call before acknowledging a write.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let target = self.revision();
        loop {
            if self.durable.load(std::sync::atomic::Ordering::SeqCst) >= target {
                return Ok(());
            }
            let _turn = self.flusher.lock().await;
            if self.durable.load(std::sync::atomic::Ordering::SeqCst) >= target {
                return Ok(());
            }
            self.txn().flush()?;
        }
    }

    /// Flushes synchronously (for non-async callers and shutdown).
    pub fn sync_blocking(&self) -> Result<(), StoreError> {
        self.txn().flush()
    }
}

/// A locked view of the store.
pub struct Txn<'a> {
    g: MutexGuard<'a, Inner>,
    store: &'a Store,
}

/// Why a watch cannot resume.
#[derive(Debug)]
pub struct TooOld {
    /// The oldest revision still available.
    pub oldest: u64,
}

impl Txn<'_> {
    /// The current revision.
    pub fn revision(&self) -> u64 {
        self.g.rv
    }

    /// The object, if present.
    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.g
            .objects
            .get(resource)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of `resource`, in one namespace or (with `None`) all, sorted by namespace/name.
    pub fn list(&self, resource: &str, ns: Option<&str>) -> Vec<Arc<Value>> {
        let Some(m) = self.g.objects.get(resource) else {
            return Vec::new();
        };
        match ns {
            None => m.values().cloned().collect(),
            Some(ns) => m
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    /// Resource keys that have at least one object.
    pub fn resources(&self) -> Vec<String> {
        self.g
            .objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Stores `object` (its `metadata.resourceVersion` is set to the new revision), durably.
    pub fn put(
        &mut self,
        resource: &str,
        ns: &str,
        name: &str,
        mut object: Value,
    ) -> Result<Arc<Value>, StoreError> {
        let rv = self.g.rv + 1;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let prev = self.get(resource, ns, name);
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        let data: Arc<str> = object.to_string().into();
        {
            self.begin()?;
            let tx = &self.g.conn;
            tx.prepare_cached(
                "INSERT INTO objects (resource, namespace, name, rv, data) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, data = excluded.data",
            )?
            .execute(params![resource, ns, name, rv, &*data])?;
            tx.prepare_cached(
                "INSERT INTO events (rv, type, resource, namespace, name, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![rv, kind.as_str(), resource, ns, name, &*data])?;
        }
        let object = Arc::new(object);
        let slot = self.g.objects.entry(resource.to_string()).or_default();
        match slot.get_mut(&(ns.to_string(), name.to_string())) {
            Some(v) => *v = object.clone(),
            None => {
                slot.insert((ns.to_string(), name.to_string()), object.clone());
            }
        }
        self.record(rv, kind, resource, ns, name, object.clone(), data, prev)?;
        Ok(object)
    }

    /// Removes the object; returns its final state (with the deletion's revision).
    pub fn delete(
        &mut self,
        resource: &str,
        ns: &str,
        name: &str,
    ) -> Result<Option<Arc<Value>>, StoreError> {
        let Some(prev) = self.get(resource, ns, name) else {
            return Ok(None);
        };
        let rv = self.g.rv + 1;
        let mut object = (*prev).clone();
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let data: Arc<str> = object.to_string().into();
        {
            self.begin()?;
            let tx = &self.g.conn;
            tx.prepare_cached(
                "DELETE FROM objects WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
            )?
            .execute(params![resource, ns, name])?;
            tx.prepare_cached(
                "INSERT INTO events (rv, type, resource, namespace, name, data) VALUES (?1, 'DELETED', ?2, ?3, ?4, ?5)",
            )?
            .execute(params![rv, resource, ns, name, &*data])?;
        }
        if let Some(m) = self.g.objects.get_mut(resource) {
            m.remove(&(ns.to_string(), name.to_string()));
        }
        let object = Arc::new(object);
        self.record(
            rv,
            EventType::Deleted,
            resource,
            ns,
            name,
            object.clone(),
            data,
            Some(prev),
        )?;
        Ok(Some(object))
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        rv: u64,
        kind: EventType,
        resource: &str,
        ns: &str,
        name: &str,
        object: Arc<Value>,
        data: Arc<str>,
        prev: Option<Arc<Value>>,
    ) -> Result<(), StoreError> {
        self.g.rv = rv;
        let ev = Arc::new(Event {
            rv,
            kind,
            resource: resource.to_string(),
            namespace: ns.to_string(),
            name: name.to_string(),
            object,
            data,
            prev,
        });
        self.g.recent.push_back(ev.clone());
        let history = self.store.history;
        while self.g.recent.len() > history {
            self.g.recent.pop_front();
        }
        if let Some(front) = self.g.recent.front() {
            self.g.history_start = front.rv;
        }
        self.g.writes_since_compact += 1;
        if self.g.writes_since_compact >= 1000 {
            self.g.writes_since_compact = 0;
            let keep_from = self.g.history_start;
            self.g
                .conn
                .execute("DELETE FROM events WHERE rv < ?1", params![keep_from])?;
            self.g.conn.execute(
                "INSERT INTO meta (k, v) VALUES ('rv', ?1) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                params![rv],
            )?;
        }
        self.g.pending.push(ev);
        Ok(())
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        if !self.g.in_txn {
            self.g.conn.execute_batch("BEGIN")?;
            self.g.in_txn = true;
        }
        Ok(())
    }

    /// Commits the open transaction (fsync) and publishes its events to watchers.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.g.in_txn {
            self.g.conn.execute_batch("COMMIT")?;
            self.g.in_txn = false;
        }
        let rv = self.g.rv;
        for ev in std::mem::take(&mut self.g.pending) {
            // No receivers is fine.
            let _ = self.store.tx.send(ev);
        }
        self.store
            .durable
            .fetch_max(rv, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Whether writes await a flush.
    pub fn dirty(&self) -> bool {
        self.g.in_txn || !self.g.pending.is_empty()
    }

    /// Subscribes to live events (everything after the current revision).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.store.tx.subscribe()
    }

    /// Events with revision greater than `rv`, or `TooOld` when history no longer reaches back.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, TooOld> {
        if rv >= self.g.rv {
            return Ok(Vec::new());
        }
        if rv + 1 < self.g.history_start {
            return Err(TooOld {
                oldest: self.g.history_start,
            });
        }
        let idx = self.g.recent.partition_point(|e| e.rv <= rv);
        Ok(self.g.recent.iter().skip(idx).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_get_delete_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let s = Store::open(&path).unwrap();
            let mut t = s.txn();
            let o = t
                .put(
                    "/configmaps",
                    "default",
                    "a",
                    json!({"metadata": {"name": "a"}}),
                )
                .unwrap();
            assert_eq!(o["metadata"]["resourceVersion"], "1");
            t.put(
                "/configmaps",
                "default",
                "b",
                json!({"metadata": {"name": "b"}}),
            )
            .unwrap();
            t.put(
                "/configmaps",
                "other",
                "c",
                json!({"metadata": {"name": "c"}}),
            )
            .unwrap();
            assert_eq!(t.list("/configmaps", Some("default")).len(), 2);
            assert_eq!(t.list("/configmaps", None).len(), 3);
            let d = t.delete("/configmaps", "default", "a").unwrap().unwrap();
            assert_eq!(d["metadata"]["resourceVersion"], "4");
            assert_eq!(t.events_since(2).unwrap().len(), 2);
            t.flush().unwrap();
        }
        let s = Store::open(&path).unwrap();
        let t = s.txn();
        assert_eq!(t.revision(), 4);
        assert!(t.get("/configmaps", "default", "a").is_none());
        assert_eq!(
            t.get("/configmaps", "default", "b").unwrap()["metadata"]["resourceVersion"],
            "2"
        );
        let evs = t.events_since(0).unwrap();
        assert_eq!(evs.len(), 4);
        assert_eq!(evs[3].kind, EventType::Deleted);
    }

    #[test]
    fn history_limit_gives_too_old() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open_with_history(&dir.path().join("db"), 3).unwrap();
        let mut t = s.txn();
        for i in 0..10 {
            t.put(
                "/configmaps",
                "default",
                &format!("c{i}"),
                json!({"metadata": {}}),
            )
            .unwrap();
        }
        assert!(t.events_since(2).is_err());
        assert_eq!(t.events_since(7).unwrap().len(), 3);
        assert_eq!(t.events_since(10).unwrap().len(), 0);
    }
}
