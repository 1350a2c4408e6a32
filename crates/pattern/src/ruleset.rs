//! Many patterns matched against one event at a time.
//!
//! The event is flattened once per call, for the union of all patterns' paths.
//! Most rules pin a field to a few exact strings (`"source": ["aws.ec2"]`);
//! such branches are filed in a hash index under those values, so a call only
//! evaluates the branches whose pinned value occurs in the event, plus the few
//! that pin nothing.

use std::collections::HashMap;

use serde_json::Value;

use crate::flat::{self, BranchCheck, Paths};
use crate::{branch_check, Pattern};

/// Indexing prefers these fields when a branch pins several: they are the
/// ones that usually tell events apart.
const PREFERRED_INDEX_PATHS: &[&str] = &["source", "detail-type"];

/// Compiled patterns under caller-chosen keys, matched together.
#[derive(Debug, Clone)]
pub struct RuleSet<K> {
    rules: Vec<(K, Pattern)>,
    paths: Paths,
    branches: Vec<Entry>,
    index: Vec<PathIndex>,
    /// Branches with no exact value to index by; always evaluated.
    unindexed: Vec<u32>,
}

/// For one path: exact value to the branches pinned to it.
#[derive(Debug, Clone)]
struct PathIndex {
    path: u32,
    by_value: HashMap<Box<str>, Vec<u32>>,
}

#[derive(Debug, Clone)]
struct Entry {
    rule: usize,
    check: BranchCheck,
}

impl<K> Default for RuleSet<K> {
    fn default() -> Self {
        RuleSet {
            rules: Vec::new(),
            paths: Paths::default(),
            branches: Vec::new(),
            index: Vec::new(),
            unindexed: Vec::new(),
        }
    }
}

impl<K: Clone> RuleSet<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pattern under `key`. Keys are not deduplicated: a key inserted
    /// twice is reported once per matching insertion.
    pub fn insert(&mut self, key: K, pattern: Pattern) {
        let rule = self.rules.len();
        for branch in pattern.branches() {
            let check = branch_check(branch, &mut self.paths);
            let id = u32::try_from(self.branches.len()).expect("fewer than 2^32 branches");
            match index_field(&check, branch.keys()) {
                Some(field) => {
                    let path = check.fields[field].path;
                    let slot = match self.index.iter().position(|ix| ix.path == path) {
                        Some(slot) => slot,
                        None => {
                            self.index.push(PathIndex {
                                path,
                                by_value: HashMap::new(),
                            });
                            self.index.len() - 1
                        }
                    };
                    for m in &check.fields[field].matchers {
                        let value = m
                            .exact_string()
                            .expect("index fields hold exact strings only");
                        let ids = self.index[slot].by_value.entry(value.into()).or_default();
                        if ids.last() != Some(&id) {
                            ids.push(id);
                        }
                    }
                }
                None => self.unindexed.push(id),
            }
            self.branches.push(Entry { rule, check });
        }
        self.rules.push((key, pattern));
    }

    /// Keys of the patterns that match `event`, in insertion order.
    pub fn matching(&self, event: &Value) -> Vec<K> {
        let Some(flat) = flat::flatten(event, &self.paths) else {
            return Vec::new();
        };
        let mut candidates: Vec<u32> = self.unindexed.clone();
        for ix in &self.index {
            for s in flat.strings(ix.path) {
                if let Some(ids) = ix.by_value.get(s) {
                    candidates.extend_from_slice(ids);
                }
            }
        }
        // Branch ids grow with insertion, so sorting groups them by rule.
        candidates.sort_unstable();
        candidates.dedup();
        let mut matched = Vec::new();
        let mut last_matched_rule = None;
        for id in candidates {
            let entry = &self.branches[id as usize];
            if last_matched_rule == Some(entry.rule) {
                continue;
            }
            if entry.check.matches(&flat) {
                last_matched_rule = Some(entry.rule);
                matched.push(self.rules[entry.rule].0.clone());
            }
        }
        matched
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Keeps only the patterns whose key satisfies `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        let rules = std::mem::take(&mut self.rules);
        *self = Self::default();
        for (key, pattern) in rules {
            if keep(&key) {
                self.insert(key, pattern);
            }
        }
    }

    /// The keys and patterns, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Pattern)> {
        self.rules.iter().map(|(k, p)| (k, p))
    }
}

/// The field to index a branch by: one that must equal one of a few exact
/// strings. Prefers fewer values, then the usual discriminating fields.
fn index_field<'a>(check: &BranchCheck, paths: impl Iterator<Item = &'a String>) -> Option<usize> {
    check
        .fields
        .iter()
        .zip(paths)
        .enumerate()
        .filter(|(_, (f, _))| {
            !f.absent_ok
                && !f.matchers.is_empty()
                && f.matchers.iter().all(|m| m.exact_string().is_some())
        })
        .min_by_key(|(_, (f, path))| {
            let rank = PREFERRED_INDEX_PATHS
                .iter()
                .position(|p| p == path)
                .unwrap_or(PREFERRED_INDEX_PATHS.len());
            (f.matchers.len(), rank)
        })
        .map(|(i, _)| i)
}
