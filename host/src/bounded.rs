//! The per-server caches' one map: shared between requests, bounded, and cleared when full (a
//! cleared entry is only read again, never wrong).

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{Mutex, MutexGuard},
};

/// Locks `m`, ignoring poisoning: every value guarded this way stays consistent between
/// statements, so a panic elsewhere leaves nothing half-written.
pub fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub struct BoundedMap<K, V> {
    max: usize,
    map: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> BoundedMap<K, V> {
    pub fn new(max: usize) -> Self {
        BoundedMap {
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        locked(&self.map).get(key).cloned()
    }

    /// Inserts `value`, unless `keep` says the value already there should stay.
    pub fn insert_unless(&self, key: K, value: V, keep: impl FnOnce(&V) -> bool) {
        let mut map = locked(&self.map);
        if map.get(&key).is_some_and(keep) {
            return;
        }
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(key, value);
    }

    pub fn insert(&self, key: K, value: V) {
        self.insert_unless(key, value, |_| false);
    }

    /// The value for `key`, inserting `make()` first when there is none.
    pub fn get_or_insert_with<Q>(&self, key: &Q, make: impl FnOnce() -> V) -> V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut map = locked(&self.map);
        if let Some(value) = map.get(key) {
            return value.clone();
        }
        if map.len() >= self.max {
            map.clear();
        }
        let value = make();
        map.insert(key.to_owned(), value.clone());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_is_cleared_before_it_grows() {
        let map = BoundedMap::new(2);
        map.insert("a".to_owned(), 1);
        map.insert("b".to_owned(), 2);
        map.insert("c".to_owned(), 3);
        assert_eq!((map.get("a"), map.get("c")), (None, Some(3)));
        map.insert_unless("c".to_owned(), 0, |kept| *kept > 0);
        assert_eq!(map.get("c"), Some(3));
        assert_eq!(map.get_or_insert_with("c", || 9), 3);
    }
}
