//! `wildcard` values: parsing, matching, and AWS's complexity limit.
//!
//! `*` matches any run of characters (including none); `\*` and `\\` stand for
//! the literal characters. AWS parses the value with its surrounding quotes, so
//! reported positions are one past the index into the value itself.
//!
//! AWS refuses rules whose wildcards could keep too many partial matches alive
//! at once: it builds the byte automaton of the rule and counts, for the worst
//! possible input, how many wildcard-pattern prefixes are matched
//! simultaneously. [`complexity`] redoes that count on an equivalent automaton.

use std::collections::{HashMap, HashSet, VecDeque};

/// A rule whose count exceeds this is "too complex".
pub(crate) const COMPLEXITY_MAX: usize = 10;

/// Automaton subsets explored before giving up and calling the rule too complex;
/// keeps validation time bounded for adversarial patterns.
const SUBSETS_EXPLORED_MAX: usize = 20_000;

pub(crate) const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

/// One step of a wildcard pattern: a byte or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Step {
    Byte(u8),
    Star,
}

#[derive(Debug, Clone)]
pub(crate) struct Wildcard {
    /// The pattern including the surrounding quote steps, for complexity.
    steps: Vec<Step>,
    /// Literal runs between stars (quotes excluded); one more than the stars.
    segments: Vec<Vec<u8>>,
}

impl Wildcard {
    /// Parses a wildcard value; errors are AWS's reason texts.
    pub(crate) fn parse(value: &str) -> Result<Wildcard, String> {
        let quoted = format!("\"{value}\"");
        let bytes = quoted.as_bytes();
        let mut steps = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'*' => {
                    if bytes.get(i + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {i}"));
                    }
                    steps.push(Step::Star);
                }
                b'\\' => match bytes.get(i + 1) {
                    Some(&next @ (b'*' | b'\\')) => {
                        steps.push(Step::Byte(next));
                        i += 1;
                    }
                    _ => return Err(format!("Invalid escape character at pos {i}")),
                },
                b => steps.push(Step::Byte(b)),
            }
            i += 1;
        }
        debug_assert!(steps.len() >= 2, "the quotes are always there");
        let mut segments = vec![Vec::new()];
        for step in &steps[1..steps.len() - 1] {
            match step {
                Step::Star => segments.push(Vec::new()),
                Step::Byte(b) => segments.last_mut().expect("never empty").push(*b),
            }
        }
        Ok(Wildcard { steps, segments })
    }

    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let s = s.as_bytes();
        let (first, rest) = self.segments.split_first().expect("never empty");
        let Some((last, middle)) = rest.split_last() else {
            return s == first.as_slice();
        };
        if s.len() < first.len() + last.len() || !s.starts_with(first) || !s.ends_with(last) {
            return false;
        }
        // With `*` as the only operator, taking each middle run at its leftmost
        // place is never worse than any other choice.
        let mut pos = first.len();
        let end = s.len() - last.len();
        for segment in middle {
            match find(&s[pos..end], segment) {
                Some(at) => pos += at + segment.len(),
                None => return false,
            }
        }
        true
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[derive(Debug, Default)]
struct Node {
    edges: Vec<(u8, usize)>,
    /// Transition on every byte (into a star's self-looping node).
    any: Option<usize>,
    /// Patterns reachable from here; sorted, deduplicated.
    patterns: Vec<usize>,
    /// Reached only by fixed bytes from the start, so it may be shared.
    determinate: bool,
}

/// The worst-case number of wildcard prefixes matched at once by one input,
/// for the given patterns of one field. Each entry is a pattern id (entries
/// with the same id are alternatives of one pattern, as in an `anything-but`
/// list) and its steps. Stops counting early once `cap` is passed.
pub(crate) fn complexity(patterns: &[(usize, &[Step])], cap: usize) -> usize {
    let mut nodes = vec![Node {
        determinate: true,
        ..Node::default()
    }];
    // Alternatives of one pattern end in one shared accepting state.
    let mut accepting: HashMap<usize, usize> = HashMap::new();
    for &(id, steps) in patterns {
        add_pattern(&mut nodes, &mut accepting, id, steps);
    }
    let mut alphabet: Vec<Option<u8>> = vec![None];
    let mut seen_bytes = [false; 256];
    for node in &nodes {
        for &(b, _) in &node.edges {
            if !seen_bytes[usize::from(b)] {
                seen_bytes[usize::from(b)] = true;
                alphabet.push(Some(b));
            }
        }
    }

    let mut worst = 0;
    let mut seen: HashSet<Vec<usize>> = HashSet::new();
    let mut queue: VecDeque<Vec<usize>> = VecDeque::from([vec![0]]);
    while let Some(set) = queue.pop_front() {
        for &symbol in &alphabet {
            let mut next: Vec<usize> = Vec::new();
            for &n in &set {
                let node = &nodes[n];
                next.extend(node.any);
                if let Some(b) = symbol {
                    next.extend(node.edges.iter().filter(|e| e.0 == b).map(|e| e.1));
                }
            }
            next.sort_unstable();
            next.dedup();
            if next.is_empty() || seen.contains(&next) {
                continue;
            }
            let mut size = 0;
            for &n in &next {
                size += nodes[n].patterns.len();
                // A state about to enter a star also counts the star's
                // prefixes: the same input matches both.
                if let Some(star) = nodes[n].any {
                    if next.binary_search(&star).is_err() {
                        size += nodes[star].patterns.len();
                    }
                }
            }
            worst = worst.max(size);
            if worst > cap || seen.len() >= SUBSETS_EXPLORED_MAX {
                return worst.max(cap + 1);
            }
            seen.insert(next.clone());
            queue.push_back(next);
        }
    }
    worst
}

fn add_pattern(
    nodes: &mut Vec<Node>,
    accepting: &mut HashMap<usize, usize>,
    id: usize,
    steps: &[Step],
) {
    let mut current = 0;
    let mut before_star: Option<usize> = None;
    let mut determinate = true;
    for (i, &step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let next = match step {
            Step::Star => {
                // Patterns with the same fixed prefix share the star's state.
                let shared = nodes[current].any.filter(|_| determinate);
                let star = shared.unwrap_or_else(|| {
                    let star = new_node(nodes, false);
                    nodes[star].any = Some(star);
                    nodes[current].any = Some(star);
                    star
                });
                before_star = Some(current);
                determinate = false;
                star
            }
            Step::Byte(b) => {
                let reusable = determinate && !last && steps.get(i + 1) != Some(&Step::Star);
                let existing = nodes[current]
                    .edges
                    .iter()
                    .find(|&&(eb, to)| eb == b && nodes[to].determinate)
                    .map(|&(_, to)| to)
                    .filter(|_| reusable);
                match existing {
                    Some(to) => to,
                    None => {
                        let to = match (last, accepting.get(&id)) {
                            (true, Some(&to)) => to,
                            (true, None) => {
                                let to = new_node(nodes, false);
                                accepting.insert(id, to);
                                to
                            }
                            (false, _) => new_node(nodes, reusable),
                        };
                        nodes[current].edges.push((b, to));
                        // The star may match nothing: its predecessor can
                        // take this byte directly.
                        if i > 0 && steps[i - 1] == Step::Star {
                            if let Some(before) = before_star {
                                nodes[before].edges.push((b, to));
                            }
                        }
                        to
                    }
                }
            }
        };
        let patterns = &mut nodes[next].patterns;
        if let Err(at) = patterns.binary_search(&id) {
            patterns.insert(at, id);
        }
        current = next;
    }
}

fn new_node(nodes: &mut Vec<Node>, determinate: bool) -> usize {
    nodes.push(Node {
        determinate,
        ..Node::default()
    });
    nodes.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps of a bare pattern (no quotes), as the reference tests build them.
    fn bare(p: &str) -> Vec<Step> {
        p.bytes()
            .map(|b| if b == b'*' { Step::Star } else { Step::Byte(b) })
            .collect()
    }

    fn check_complexity(patterns: &[(usize, &str)], expected: usize) {
        let steps: Vec<(usize, Vec<Step>)> =
            patterns.iter().map(|&(id, p)| (id, bare(p))).collect();
        let refs: Vec<(usize, &[Step])> = steps.iter().map(|(id, s)| (*id, s.as_slice())).collect();
        assert_eq!(complexity(&refs, 100), expected, "{patterns:?}");
    }

    #[test]
    fn complexity_counts() {
        check_complexity(&[(0, "*")], 1);
        check_complexity(&[(0, "abc")], 1);
        check_complexity(&[(0, "*ab")], 2);
        check_complexity(&[(0, "*aa")], 3);
        check_complexity(&[(0, "a*b")], 2);
        check_complexity(&[(0, "aa*")], 2);
        check_complexity(&[(0, "a*bb")], 3);
        check_complexity(&[(0, "a*bcb")], 3);
        check_complexity(&[(0, "a*bbb")], 4);
        check_complexity(&[(0, "*ab*ad")], 4);
        check_complexity(&[(0, "*ab*d")], 3);
        check_complexity(&[(0, "*aba*")], 4);
        check_complexity(&[(0, "a*b*bb")], 5);
        check_complexity(&[(0, "a*b*cd")], 3);
        check_complexity(&[(0, "ab*b*")], 3);
        check_complexity(&[(0, "*ab*b*b*")], 7);
        check_complexity(&[(0, "*"), (1, "ab*c")], 3);
        check_complexity(&[(0, "ab*c"), (1, "x*xx")], 3);
        check_complexity(&[(0, "*abc"), (1, "*abcde")], 4);
        check_complexity(&[(0, "a*aaa"), (1, "aa*aa")], 7);
        check_complexity(&[(0, "a*aaa"), (0, "aa*aa")], 6);
        check_complexity(&[(0, "ab*cd"), (1, "ab*wx"), (2, "ab*yz")], 6);
        check_complexity(
            &[
                (0, "F*eatureFeature"),
                (1, "Fe*atureFeature"),
                (2, "Fea*tureFeature"),
            ],
            10,
        );
        check_complexity(&[(0, "*a*a*a*a*a*a*a*a*")], 17);
        check_complexity(&[(0, "\"a*a*a*a*a*a*\"")], 11);
        let exploder = [
            "aahed*", "aal*ii", "aargh*", "aarti*", "a*baca", "*abaci", "a*back", "ab*acs",
            "abaf*t", "*abaka", "ab*amp", "a*band", "*abase", "abash*", "abas*k", "ab*ate",
            "aba*ya", "abbas*", "abbed*", "ab*bes", "abbey*", "*abbot", "ab*cee", "abea*m",
            "abe*ar", "a*bele", "a*bers", "abet*s", "*abhor", "abi*de", "a*bies", "*abled",
        ];
        let numbered: Vec<(usize, &str)> = exploder.iter().copied().enumerate().collect();
        check_complexity(&numbered, 45);
    }

    #[test]
    fn matching() {
        let cases = [
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a*b", "ab", true),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("*.png", "dir/x.png", true),
            ("*Title*", "A Title here", true),
            ("a*b*a", "aba", true),
            ("a*b*a", "ab", false),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("a\\\\b", "a\\b", true),
        ];
        for (p, s, expected) in cases {
            assert_eq!(
                Wildcard::parse(p).unwrap().matches(s),
                expected,
                "{p} vs {s}"
            );
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            Wildcard::parse("ab**").unwrap_err(),
            "Consecutive wildcard characters at pos 3"
        );
        assert_eq!(
            Wildcard::parse("a\\b").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("a\\").unwrap_err(),
            "Invalid escape character at pos 2"
        );
    }
}
