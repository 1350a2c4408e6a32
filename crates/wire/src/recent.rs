//! Values remembered for a while (deduplication ids, receive attempts): looked up by key
//! and forgotten in the order they were added once their time is up. Forgetting costs
//! only the entries that expired, not a pass over all of them.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct Recent<K, V> {
    map: HashMap<K, (V, i64)>,
    /// (expiry, key) in insertion order; the window is the same for every entry, so
    /// expiries only grow along it.
    order: VecDeque<(i64, K)>,
}

impl<K: Hash + Eq + Clone, V> Default for Recent<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Recent<K, V> {
    /// The value under `key`, while its time lasts at `now_ms`.
    pub fn get(&self, key: &K, now_ms: i64) -> Option<&V> {
        self.map
            .get(key)
            .filter(|(_, until)| *until > now_ms)
            .map(|(v, _)| v)
    }

    /// Remembers `value` under `key` until `until_ms` (replacing what was there).
    pub fn insert(&mut self, key: K, value: V, until_ms: i64) {
        self.order.push_back((until_ms, key.clone()));
        self.map.insert(key, (value, until_ms));
    }

    /// Forgets what expired by `now_ms`.
    pub fn forget_expired(&mut self, now_ms: i64) {
        while let Some((until, _)) = self.order.front() {
            if *until > now_ms {
                break;
            }
            let Some((until, key)) = self.order.pop_front() else {
                break;
            };
            // A key inserted again later keeps its newer entry.
            if self.map.get(&key).is_some_and(|(_, u)| *u == until) {
                self.map.remove(&key);
            }
        }
    }

    /// Forgets the entries whose key fails `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.map.retain(|k, _| keep(k));
        self.order.retain(|(_, k)| keep(k));
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_time_is_up() {
        let mut r: Recent<String, u32> = Recent::default();
        r.insert("a".into(), 1, 100);
        r.insert("b".into(), 2, 150);
        assert_eq!(r.get(&"a".into(), 99), Some(&1));
        assert_eq!(
            r.get(&"a".into(), 100),
            None,
            "expired, even before forgetting"
        );
        r.forget_expired(120);
        assert_eq!(r.len(), 1);
        assert_eq!(r.get(&"b".into(), 120), Some(&2));
        // Re-inserted keys keep their newer entry when the old one's time comes.
        r.insert("b".into(), 3, 300);
        r.forget_expired(200);
        assert_eq!(r.get(&"b".into(), 200), Some(&3));
        r.retain(|k| k != "b");
        assert!(r.is_empty());
    }
}
