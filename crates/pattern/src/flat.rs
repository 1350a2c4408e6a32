//! Events flattened into leaf values per field path, and the evaluation of
//! compiled branches against them.
//!
//! An event is walked once: every scalar reachable through object keys and
//! array elements becomes a leaf under its dotted path (`{"a": {"b": 1}}` and
//! `{"a.b": 1}` both give `a.b`). Only paths some pattern asks about are kept,
//! and subtrees no pattern can reach are skipped.
//!
//! Arrays of objects bring one rule: values taken from different elements of
//! the same array may not satisfy one branch together. Each leaf remembers
//! which element of which array it sits in (its membership), and a branch is
//! checked field by field, in path order, keeping the memberships chosen so
//! far consistent. `exists: false` only looks at leaves consistent with the
//! choices made for earlier fields, as AWS does.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::matcher::{Matcher, Scalar};

/// Branch checks that take more search steps than this (only possible with
/// several large arrays of objects) fall back to checking each field on its
/// own, which ignores array consistency but bounds the time per event.
const SEARCH_STEPS_MAX: usize = 10_000;

/// Events nested deeper than this are not descended further.
const EVENT_DEPTH_MAX: usize = 256;

/// Field paths some pattern uses, numbered densely.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paths {
    ids: HashMap<Box<str>, u32>,
    /// Every dotted prefix of every path, the paths included.
    prefixes: HashSet<Box<str>>,
}

impl Paths {
    pub(crate) fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.ids.get(path) {
            return id;
        }
        let id = u32::try_from(self.ids.len()).expect("fewer than 2^32 paths");
        self.ids.insert(path.into(), id);
        for (i, _) in path.match_indices('.') {
            self.prefixes.insert(path[..i].into());
        }
        self.prefixes.insert(path.into());
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// One compiled field condition: a path id plus what it accepts.
#[derive(Debug, Clone)]
pub(crate) struct FieldCheck {
    pub(crate) path: u32,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) absent_ok: bool,
}

/// A branch ready for evaluation; fields in path order.
#[derive(Debug, Clone)]
pub(crate) struct BranchCheck {
    pub(crate) fields: Vec<FieldCheck>,
}

#[derive(Debug, Clone, Copy)]
struct Leaf<'e> {
    value: Scalar<'e>,
    /// Range in `Flat::memberships`.
    membership_start: u32,
    membership_len: u32,
}

/// Which element of which array a leaf sits in.
type Membership = (u32, u32);

/// A flattened event.
pub(crate) struct Flat<'e> {
    leaves: Vec<Leaf<'e>>,
    /// Leaves of path `p` are `leaves[starts[p]..starts[p + 1]]`.
    starts: Vec<u32>,
    memberships: Vec<Membership>,
}

/// Flattens `event` for the paths in `paths`; `None` if it is not an object.
pub(crate) fn flatten<'e>(event: &'e Value, paths: &Paths) -> Option<Flat<'e>> {
    let Value::Object(map) = event else {
        return None;
    };
    let mut walk = Walk {
        paths,
        path: String::new(),
        stack: Vec::new(),
        stack_changed: true,
        arrays: 0,
        found: Vec::new(),
        memberships: Vec::new(),
        last_snapshot: (0, 0),
    };
    walk.object(map, 0);

    // Counting sort by path keeps document order within each path.
    let mut starts = vec![0u32; paths.len() + 1];
    for (path, _) in &walk.found {
        starts[*path as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let placeholder = Leaf {
        value: Scalar::Null,
        membership_start: 0,
        membership_len: 0,
    };
    let mut leaves = vec![placeholder; walk.found.len()];
    for (path, leaf) in walk.found {
        let slot = &mut next[path as usize];
        leaves[*slot as usize] = leaf;
        *slot += 1;
    }
    Some(Flat {
        leaves,
        starts,
        memberships: walk.memberships,
    })
}

struct Walk<'p, 'e> {
    paths: &'p Paths,
    path: String,
    /// Array elements enclosing the current position.
    stack: Vec<Membership>,
    stack_changed: bool,
    arrays: u32,
    found: Vec<(u32, Leaf<'e>)>,
    memberships: Vec<Membership>,
    /// Where the current stack was last copied to, reused until it changes.
    last_snapshot: (u32, u32),
}

impl<'e> Walk<'_, 'e> {
    fn object(&mut self, map: &'e Map<String, Value>, depth: usize) {
        if depth > EVENT_DEPTH_MAX {
            return;
        }
        for (key, value) in map {
            let len = self.path.len();
            if len > 0 {
                self.path.push('.');
            }
            self.path.push_str(key);
            if self.paths.prefixes.contains(self.path.as_str()) {
                self.value(value, depth);
            }
            self.path.truncate(len);
        }
    }

    fn value(&mut self, value: &'e Value, depth: usize) {
        let scalar = match value {
            Value::Object(map) => return self.object(map, depth + 1),
            Value::Array(items) => return self.array(items, depth + 1),
            Value::String(s) => Scalar::Str(s),
            Value::Number(n) => Scalar::Num(n),
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Null => Scalar::Null,
        };
        let Some(&path) = self.paths.ids.get(self.path.as_str()) else {
            return;
        };
        if self.stack_changed {
            let start = u32::try_from(self.memberships.len()).unwrap_or(u32::MAX);
            self.memberships.extend_from_slice(&self.stack);
            self.last_snapshot = (start, self.stack.len() as u32);
            self.stack_changed = false;
        }
        let (membership_start, membership_len) = self.last_snapshot;
        self.found.push((
            path,
            Leaf {
                value: scalar,
                membership_start,
                membership_len,
            },
        ));
    }

    fn array(&mut self, items: &'e [Value], depth: usize) {
        if depth > EVENT_DEPTH_MAX {
            return;
        }
        let id = self.arrays;
        self.arrays += 1;
        for (index, item) in items.iter().enumerate() {
            // Only containers inside the array get its membership: scalars
            // side by side in one array are alternatives of a single field.
            if matches!(item, Value::Object(_) | Value::Array(_)) {
                self.stack.push((id, index as u32));
                self.stack_changed = true;
                self.value(item, depth);
                self.stack.pop();
                self.stack_changed = true;
            } else {
                self.value(item, depth);
            }
        }
    }
}

impl Flat<'_> {
    fn leaves(&self, path: u32) -> &[Leaf<'_>] {
        let p = path as usize;
        match (self.starts.get(p), self.starts.get(p + 1)) {
            (Some(&a), Some(&b)) => &self.leaves[a as usize..b as usize],
            _ => &[],
        }
    }

    fn membership(&self, leaf: &Leaf<'_>) -> &[Membership] {
        let start = leaf.membership_start as usize;
        &self.memberships[start..start + leaf.membership_len as usize]
    }

    /// The string values at `path`, for index lookups.
    pub(crate) fn strings(&self, path: u32) -> impl Iterator<Item = &str> + '_ {
        self.leaves(path).iter().filter_map(|l| match l.value {
            Scalar::Str(s) => Some(s),
            _ => None,
        })
    }
}

impl BranchCheck {
    pub(crate) fn matches(&self, flat: &Flat<'_>) -> bool {
        let mut chosen = Vec::new();
        let mut steps = 0;
        match self.search(flat, 0, &mut chosen, &mut steps) {
            Some(found) => found,
            None => self.fields.iter().all(|f| {
                let leaves = flat.leaves(f.path);
                (f.absent_ok && leaves.is_empty())
                    || leaves
                        .iter()
                        .any(|l| f.matchers.iter().any(|m| m.matches(l.value)))
            }),
        }
    }

    /// Depth-first search for consistent leaves for fields `i..`; `None` when
    /// the step budget runs out.
    fn search(
        &self,
        flat: &Flat<'_>,
        i: usize,
        chosen: &mut Vec<Membership>,
        steps: &mut usize,
    ) -> Option<bool> {
        let Some(field) = self.fields.get(i) else {
            return Some(true);
        };
        *steps += 1;
        if *steps > SEARCH_STEPS_MAX {
            return None;
        }
        let leaves = flat.leaves(field.path);
        if field.absent_ok
            && !leaves
                .iter()
                .any(|l| consistent(chosen, flat.membership(l)))
            && self.search(flat, i + 1, chosen, steps)?
        {
            return Some(true);
        }
        // Leaves that add no membership all lead to the same state; trying
        // one of them is enough.
        let mut tried_unchanged = false;
        for leaf in leaves {
            if !field.matchers.iter().any(|m| m.matches(leaf.value)) {
                continue;
            }
            let before = chosen.len();
            if !extend(chosen, flat.membership(leaf)) {
                chosen.truncate(before);
                continue;
            }
            if chosen.len() == before {
                if tried_unchanged {
                    continue;
                }
                tried_unchanged = true;
            }
            let found = self.search(flat, i + 1, chosen, steps);
            chosen.truncate(before);
            if found? {
                return Some(true);
            }
        }
        Some(false)
    }
}

fn consistent(chosen: &[Membership], leaf: &[Membership]) -> bool {
    leaf.iter()
        .all(|&(array, index)| chosen.iter().all(|&(a, i)| a != array || i == index))
}

/// Adds the leaf's memberships to `chosen`; false if they conflict.
fn extend(chosen: &mut Vec<Membership>, leaf: &[Membership]) -> bool {
    for &(array, index) in leaf {
        match chosen.iter().find(|&&(a, _)| a == array) {
            Some(&(_, i)) if i != index => return false,
            Some(_) => {}
            None => chosen.push((array, index)),
        }
    }
    true
}
