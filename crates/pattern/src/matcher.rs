//! Value matchers: one per entry of a field's array in a pattern, each deciding
//! whether a single leaf value of the event satisfies it.

use serde_json::Number;

use crate::ip::{self, Ip, IpRange};
use crate::number;
use crate::wildcard::Wildcard;

/// A leaf value of an event: objects and arrays are flattened away.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'e> {
    Str(&'e str),
    Num(&'e Number),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// An exact string.
    Str(Box<str>),
    /// An exact string shaped like an IP address; matches equal addresses.
    Ip(Ip),
    /// An exact number: numerically when both sides compare exactly,
    /// otherwise by literal text.
    Num {
        value: Option<f64>,
        text: Box<str>,
    },
    Bool(bool),
    Null,
    Prefix(Box<str>),
    Suffix(Box<str>),
    PrefixIgnoreCase(IgnoreCase),
    SuffixIgnoreCase(IgnoreCase),
    EqualsIgnoreCase(IgnoreCase),
    Wildcard(Wildcard),
    /// `numeric`; `=` is a range with equal inclusive bounds.
    Range(Range),
    Cidr(IpRange),
    /// `exists: true`: any leaf value.
    Exists,
    AnythingBut(AnythingBut),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bound {
    pub(crate) value: f64,
    pub(crate) inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub(crate) low: Option<Bound>,
    pub(crate) high: Option<Bound>,
}

impl Range {
    fn contains(&self, v: f64) -> bool {
        let above = self.low.is_none_or(|b| {
            if b.inclusive {
                v >= b.value
            } else {
                v > b.value
            }
        });
        let below = self.high.is_none_or(|b| {
            if b.inclusive {
                v <= b.value
            } else {
                v < b.value
            }
        });
        above && below
    }
}

/// `anything-but`: matches any present value except those listed.
#[derive(Debug, Clone)]
pub(crate) enum AnythingBut {
    Strings(Vec<Box<str>>),
    Numbers(Vec<f64>),
    Prefixes(Vec<Box<str>>),
    Suffixes(Vec<Box<str>>),
    IgnoreCase(Vec<IgnoreCase>),
    Wildcards(Vec<Wildcard>),
}

impl Matcher {
    pub(crate) fn matches(&self, v: Scalar<'_>) -> bool {
        match (self, v) {
            (Matcher::Exists, _) => true,
            (Matcher::Str(p), Scalar::Str(s)) => **p == *s,
            (Matcher::Ip(p), Scalar::Str(s)) => ip::address(s) == Some(*p),
            (Matcher::Num { value, text }, Scalar::Num(n)) => {
                match (value, number::comparable_event(n)) {
                    (Some(p), Some(e)) => *p == e,
                    _ => n.to_string() == **text,
                }
            }
            (Matcher::Bool(p), Scalar::Bool(b)) => *p == b,
            (Matcher::Null, Scalar::Null) => true,
            (Matcher::Prefix(p), Scalar::Str(s)) => s.starts_with(&**p),
            (Matcher::Suffix(p), Scalar::Str(s)) => s.ends_with(&**p),
            (Matcher::PrefixIgnoreCase(p), Scalar::Str(s)) => p.is_prefix_of(s),
            (Matcher::SuffixIgnoreCase(p), Scalar::Str(s)) => p.is_suffix_of(s),
            (Matcher::EqualsIgnoreCase(p), Scalar::Str(s)) => p.equals(s),
            (Matcher::Wildcard(w), Scalar::Str(s)) => w.matches(s),
            (Matcher::Range(r), Scalar::Num(n)) => {
                number::comparable_event(n).is_some_and(|v| r.contains(v))
            }
            (Matcher::Cidr(range), Scalar::Str(s)) => {
                ip::address(s).is_some_and(|a| range.contains(a))
            }
            (Matcher::AnythingBut(a), v) => !a.excludes(v),
            _ => false,
        }
    }

    /// The exact string this matcher requires, if that is all it does; such
    /// matchers can be found through a hash index instead of being evaluated.
    pub(crate) fn exact_string(&self) -> Option<&str> {
        match self {
            Matcher::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl AnythingBut {
    /// Whether `v` is one of the excluded values. Values of another type are
    /// never excluded: `anything-but: "x"` matches numbers, `null` and booleans.
    fn excludes(&self, v: Scalar<'_>) -> bool {
        match (self, v) {
            (AnythingBut::Strings(list), Scalar::Str(s)) => list.iter().any(|p| **p == *s),
            (AnythingBut::Numbers(list), Scalar::Num(n)) => {
                number::comparable_event(n).is_some_and(|e| list.contains(&e))
            }
            (AnythingBut::Prefixes(list), Scalar::Str(s)) => {
                list.iter().any(|p| s.starts_with(&**p))
            }
            (AnythingBut::Suffixes(list), Scalar::Str(s)) => list.iter().any(|p| s.ends_with(&**p)),
            (AnythingBut::IgnoreCase(list), Scalar::Str(s)) => list.iter().any(|p| p.equals(s)),
            (AnythingBut::Wildcards(list), Scalar::Str(s)) => list.iter().any(|w| w.matches(s)),
            _ => false,
        }
    }
}

/// A string matched without regard to case.
///
/// Each character of the pattern matches its lower-case or its upper-case form
/// (either may be several characters long), which is how AWS folds case; plain
/// ASCII patterns take a fast path with the same result.
#[derive(Debug, Clone)]
pub(crate) struct IgnoreCase {
    ascii: Option<Box<str>>,
    /// Per pattern character, its accepted spellings.
    forms: Vec<[String; 2]>,
    /// Byte lengths a match can have, to place suffix attempts.
    len_min: usize,
    len_max: usize,
}

impl IgnoreCase {
    pub(crate) fn new(pattern: &str) -> IgnoreCase {
        if pattern.is_ascii() {
            let len = pattern.len();
            return IgnoreCase {
                ascii: Some(pattern.into()),
                forms: Vec::new(),
                len_min: len,
                len_max: len,
            };
        }
        let forms: Vec<[String; 2]> = pattern
            .chars()
            .map(|c| [c.to_lowercase().collect(), c.to_uppercase().collect()])
            .collect();
        let len_min = forms.iter().map(|f| f[0].len().min(f[1].len())).sum();
        let len_max = forms.iter().map(|f| f[0].len().max(f[1].len())).sum();
        IgnoreCase {
            ascii: None,
            forms,
            len_min,
            len_max,
        }
    }

    fn equals(&self, s: &str) -> bool {
        match &self.ascii {
            Some(p) => p.len() == s.len() && p.eq_ignore_ascii_case(s),
            None => self.ends_after_prefix(s).contains(&s.len()),
        }
    }

    fn is_prefix_of(&self, s: &str) -> bool {
        match &self.ascii {
            Some(p) => {
                s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            }
            None => !self.ends_after_prefix(s).is_empty(),
        }
    }

    fn is_suffix_of(&self, s: &str) -> bool {
        match &self.ascii {
            Some(p) => {
                s.len() >= p.len()
                    && s.as_bytes()[s.len() - p.len()..].eq_ignore_ascii_case(p.as_bytes())
            }
            None => (s.len().saturating_sub(self.len_max)..=s.len().saturating_sub(self.len_min))
                .filter(|&start| s.is_char_boundary(start))
                .any(|start| {
                    self.ends_after_prefix(&s[start..])
                        .contains(&(s.len() - start))
                }),
        }
    }

    /// Byte offsets in `s` where a match of the whole pattern, starting at 0, can end.
    fn ends_after_prefix(&self, s: &str) -> Vec<usize> {
        let mut positions = vec![0];
        for forms in &self.forms {
            let mut next: Vec<usize> = Vec::new();
            for &at in &positions {
                for form in forms {
                    if s[at..].starts_with(form.as_str()) && !next.contains(&(at + form.len())) {
                        next.push(at + form.len());
                    }
                }
            }
            if next.is_empty() {
                return next;
            }
            positions = next;
        }
        positions
    }
}
