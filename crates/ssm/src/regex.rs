//! A small regular-expression matcher for `AllowedPattern`: the common subset of Java's
//! syntax (Parameter Store runs Java), compiled to a Thompson NFA and run as a Pike VM, so
//! a match takes time linear in the value whatever the pattern (no catastrophic
//! backtracking on a value a caller chose).
//!
//! Supported: literals and escapes (`\.`, `\t`, `\n`, `\xhh`, `\uhhhh`), `.`, classes
//! (`[a-z]`, `[^...]`, `\d \w \s \D \W \S`, also inside classes), `^`, `$`, `\b`, `\B`,
//! `\A`, `\z`, groups `(...)` and `(?:...)`, alternation, `* + ? {n} {n,} {n,m}` (lazy and
//! possessive suffixes accepted; they do not change whether a value matches) and a leading
//! `(?i)`. Not supported (refused as invalid): backreferences, lookaround, named groups,
//! Unicode properties and class intersections.
//!
//! A pattern must match the whole value, as Java's `Matcher.matches` does.

/// Instructions a compiled pattern may hold; bounds memory and time per match.
const PROGRAM_LEN_MAX: usize = 2048;
/// The largest count a `{n,m}` may give.
const REPEAT_MAX: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perl {
    Digit,
    Word,
    Space,
}

impl Perl {
    fn matches(self, c: char) -> bool {
        match self {
            Perl::Digit => c.is_ascii_digit(),
            Perl::Word => c.is_ascii_alphanumeric() || c == '_',
            Perl::Space => matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r'),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClassItem {
    Range(char, char),
    Perl(Perl, bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    items: Vec<ClassItem>,
    negated: bool,
}

impl Class {
    fn matches(&self, c: char, fold: bool) -> bool {
        let hit = |c: char| {
            self.items.iter().any(|i| match *i {
                ClassItem::Range(lo, hi) => lo <= c && c <= hi,
                ClassItem::Perl(p, neg) => p.matches(c) != neg,
            })
        };
        let found = hit(c) || (fold && (hit(lower(c)) || hit(upper(c))));
        found != self.negated
    }
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn upper(c: char) -> char {
    c.to_uppercase().next().unwrap_or(c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assertion {
    LineStart,
    LineEnd,
    TextStart,
    TextEnd,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class(Class),
    Assert(Assertion),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> PatternError {
        PatternError(format!("{what} near index {} of {:?}", self.pos, self.src))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn alternation(&mut self, depth: usize) -> Result<Node, PatternError> {
        if depth > 100 {
            return Err(self.err("groups nested too deeply"));
        }
        let mut branches = vec![self.concat(depth)?];
        while self.eat('|') {
            branches.push(self.concat(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self, depth: usize) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(depth)?;
            items.push(self.quantified(atom)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.pos += 1;
                let counts = self.counts()?;
                self.pos -= 1; // stand on the `}` so one step below skips it, like the others
                counts
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        // Lazy (`*?`) and possessive (`*+`) forms match the same whole values.
        if !self.eat('?') {
            self.eat('+');
        }
        if matches!(self.peek(), Some('*' | '+' | '?' | '{')) {
            return Err(self.err("dangling quantifier"));
        }
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }

    /// `n}`, `n,}` or `n,m}` after a `{`.
    fn counts(&mut self) -> Result<(u32, Option<u32>), PatternError> {
        let min = self
            .number()
            .ok_or_else(|| self.err("illegal repetition"))?;
        let max = if self.eat(',') {
            if self.peek() == Some('}') {
                None
            } else {
                Some(
                    self.number()
                        .ok_or_else(|| self.err("illegal repetition"))?,
                )
            }
        } else {
            Some(min)
        };
        if !self.eat('}') {
            return Err(self.err("unclosed counted repetition"));
        }
        if max.is_some_and(|m| m < min) {
            return Err(self.err("illegal repetition range"));
        }
        if min > REPEAT_MAX || max.is_some_and(|m| m > REPEAT_MAX) {
            return Err(self.err("repetition count too large"));
        }
        Ok((min, max))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos || self.pos - start > 9 {
            return None;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn atom(&mut self, depth: usize) -> Result<Node, PatternError> {
        let c = self.next().ok_or_else(|| self.err("unexpected end"))?;
        match c {
            '(' => {
                if self.eat('?') && !self.eat(':') {
                    return Err(self.err("unsupported group construct"));
                }
                let inner = self.alternation(depth + 1)?;
                if !self.eat(')') {
                    return Err(self.err("unclosed group"));
                }
                Ok(inner)
            }
            ')' => Err(self.err("unmatched closing ')'")),
            '[' => self.class().map(Node::Class),
            '.' => Ok(Node::Any),
            '^' => Ok(Node::Assert(Assertion::LineStart)),
            '$' => Ok(Node::Assert(Assertion::LineEnd)),
            '*' | '+' | '?' => Err(self.err("dangling meta character")),
            '{' => Err(self.err("illegal repetition")),
            '\\' => self.escape(false).map(|e| match e {
                Escaped::Char(c) => Node::Char(c),
                Escaped::Perl(p, neg) => Node::Class(Class {
                    items: vec![ClassItem::Perl(p, neg)],
                    negated: false,
                }),
                Escaped::Assert(a) => Node::Assert(a),
            }),
            c => Ok(Node::Char(c)),
        }
    }

    fn escape(&mut self, in_class: bool) -> Result<Escaped, PatternError> {
        let c = self.next().ok_or_else(|| self.err("trailing backslash"))?;
        Ok(match c {
            'd' => Escaped::Perl(Perl::Digit, false),
            'D' => Escaped::Perl(Perl::Digit, true),
            'w' => Escaped::Perl(Perl::Word, false),
            'W' => Escaped::Perl(Perl::Word, true),
            's' => Escaped::Perl(Perl::Space, false),
            'S' => Escaped::Perl(Perl::Space, true),
            't' => Escaped::Char('\t'),
            'n' => Escaped::Char('\n'),
            'r' => Escaped::Char('\r'),
            'f' => Escaped::Char('\x0C'),
            'a' => Escaped::Char('\x07'),
            'e' => Escaped::Char('\x1B'),
            '0' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 3 && self.peek().is_some_and(|c| ('0'..='7').contains(&c)) {
                    v = v * 8 + self.next().and_then(|c| c.to_digit(8)).unwrap_or(0);
                    n += 1;
                }
                if n == 0 {
                    return Err(self.err("illegal octal escape"));
                }
                Escaped::Char(char::from_u32(v).ok_or_else(|| self.err("illegal octal escape"))?)
            }
            'x' => Escaped::Char(self.hex(2)?),
            'u' => Escaped::Char(self.hex(4)?),
            'b' if !in_class => Escaped::Assert(Assertion::WordBoundary),
            'B' if !in_class => Escaped::Assert(Assertion::NotWordBoundary),
            'A' if !in_class => Escaped::Assert(Assertion::TextStart),
            'z' if !in_class => Escaped::Assert(Assertion::TextEnd),
            c if c.is_ascii_alphanumeric() => {
                return Err(self.err(&format!("unsupported escape \\{c}")))
            }
            c => Escaped::Char(c),
        })
    }

    fn hex(&mut self, digits: usize) -> Result<char, PatternError> {
        let mut v = 0u32;
        for _ in 0..digits {
            let d = self
                .next()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.err("illegal hexadecimal escape"))?;
            v = v * 16 + d;
        }
        char::from_u32(v).ok_or_else(|| self.err("illegal hexadecimal escape"))
    }

    fn class(&mut self) -> Result<Class, PatternError> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self
                .next()
                .ok_or_else(|| self.err("unclosed character class"))?;
            let lo = match c {
                ']' if !first => break,
                '[' => return Err(self.err("nested character classes are not supported")),
                '&' if self.peek() == Some('&') => {
                    return Err(self.err("class intersections are not supported"))
                }
                '\\' => match self.escape(true)? {
                    Escaped::Char(c) => c,
                    Escaped::Perl(p, neg) => {
                        items.push(ClassItem::Perl(p, neg));
                        first = false;
                        continue;
                    }
                    Escaped::Assert(_) => return Err(self.err("assertion inside a class")),
                },
                c => c,
            };
            first = false;
            // A range, unless the `-` is the last character of the class.
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let hi = match self.next() {
                    Some('\\') => match self.escape(true)? {
                        Escaped::Char(c) => c,
                        _ => return Err(self.err("illegal character range")),
                    },
                    Some(c) => c,
                    None => return Err(self.err("unclosed character class")),
                };
                if hi < lo {
                    return Err(self.err("illegal character range"));
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Class { items, negated })
    }
}

enum Escaped {
    Char(char),
    Perl(Perl, bool),
    Assert(Assertion),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Inst {
    Char(char),
    Any,
    Class(Class),
    Assert(Assertion),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

struct Compiler {
    prog: Vec<Inst>,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> Result<usize, PatternError> {
        if self.prog.len() >= PROGRAM_LEN_MAX {
            return Err(PatternError("the pattern is too large".into()));
        }
        self.prog.push(i);
        Ok(self.prog.len() - 1)
    }

    fn patch(&mut self, at: usize, i: Inst) {
        self.prog[at] = i;
    }

    fn node(&mut self, n: &Node) -> Result<(), PatternError> {
        match n {
            Node::Empty => {}
            Node::Char(c) => {
                self.push(Inst::Char(*c))?;
            }
            Node::Any => {
                self.push(Inst::Any)?;
            }
            Node::Class(c) => {
                self.push(Inst::Class(c.clone()))?;
            }
            Node::Assert(a) => {
                self.push(Inst::Assert(*a))?;
            }
            Node::Concat(items) => {
                for i in items {
                    self.node(i)?;
                }
            }
            Node::Alt(branches) => {
                let mut jumps = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    if i + 1 < branches.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(b)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.prog.len();
                        self.patch(split, Inst::Split(split + 1, next));
                    } else {
                        self.node(b)?;
                    }
                }
                let end = self.prog.len();
                for j in jumps {
                    self.patch(j, Inst::Jmp(end));
                }
            }
            Node::Repeat { node, min, max } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(node)?;
                        self.push(Inst::Jmp(split))?;
                        let end = self.prog.len();
                        self.patch(split, Inst::Split(split + 1, end));
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.node(node)?;
                        }
                        let end = self.prog.len();
                        for s in splits {
                            self.patch(s, Inst::Split(s + 1, end));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
    fold: bool,
}

impl Regex {
    /// Compiles `src`, or says why it is not a pattern this matcher accepts.
    pub fn new(src: &str) -> Result<Self, PatternError> {
        let (body, fold) = match src.strip_prefix("(?i)") {
            Some(rest) => (rest, true),
            None => (src, false),
        };
        let mut p = Parser {
            chars: body.chars().collect(),
            pos: 0,
            src,
        };
        let ast = p.alternation(0)?;
        if p.pos != p.chars.len() {
            return Err(p.err("unmatched closing ')'"));
        }
        let mut c = Compiler { prog: Vec::new() };
        c.node(&ast)?;
        c.push(Inst::Match)?;
        Ok(Self { prog: c.prog, fold })
    }

    /// Whether the whole of `text` matches.
    pub fn is_full_match(&self, text: &str) -> bool {
        let input: Vec<char> = text.chars().collect();
        let n = self.prog.len();
        let mut clist = Threads::new(n);
        let mut nlist = Threads::new(n);
        self.add(&mut clist, 0, &input, 0);
        for (i, &c) in input.iter().enumerate() {
            if clist.pcs.is_empty() {
                return false;
            }
            nlist.clear();
            for k in 0..clist.pcs.len() {
                let pc = clist.pcs[k];
                let step = match &self.prog[pc] {
                    Inst::Char(want) => *want == c || (self.fold && lower(*want) == lower(c)),
                    Inst::Any => !matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'),
                    Inst::Class(cls) => cls.matches(c, self.fold),
                    _ => false,
                };
                if step {
                    self.add(&mut nlist, pc + 1, &input, i + 1);
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
        }
        clist.pcs.iter().any(|&pc| self.prog[pc] == Inst::Match)
    }

    /// Adds `pc` and everything reachable from it without consuming input at `pos`.
    fn add(&self, list: &mut Threads, pc: usize, input: &[char], pos: usize) {
        // An explicit stack: a long chain of empty moves must not exhaust the call stack.
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if !list.insert(pc) {
                continue;
            }
            match &self.prog[pc] {
                Inst::Jmp(to) => stack.push(*to),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) if assertion_holds(*a, input, pos) => stack.push(pc + 1),
                _ => {}
            }
        }
    }
}

fn assertion_holds(a: Assertion, input: &[char], pos: usize) -> bool {
    let word = |i: usize| input.get(i).is_some_and(|&c| Perl::Word.matches(c));
    let at_word = pos < input.len() && word(pos);
    let before_word = pos > 0 && word(pos - 1);
    match a {
        Assertion::LineStart | Assertion::TextStart => pos == 0,
        Assertion::TextEnd => pos == input.len(),
        // Java's `$` also matches before a final line terminator.
        Assertion::LineEnd => pos == input.len() || (pos + 1 == input.len() && input[pos] == '\n'),
        Assertion::WordBoundary => at_word != before_word,
        Assertion::NotWordBoundary => at_word == before_word,
    }
}

/// A set of program counters in insertion order (Pike VM thread list).
struct Threads {
    pcs: Vec<usize>,
    seen: Vec<bool>,
}

impl Threads {
    fn new(n: usize) -> Self {
        Self {
            pcs: Vec::with_capacity(n),
            seen: vec![false; n],
        }
    }

    fn insert(&mut self, pc: usize) -> bool {
        if self.seen[pc] {
            return false;
        }
        self.seen[pc] = true;
        self.pcs.push(pc);
        true
    }

    fn clear(&mut self) {
        for &pc in &self.pcs {
            self.seen[pc] = false;
        }
        self.pcs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(pattern, value, expected)`: `None` means the pattern must be refused.
    fn check(cases: &[(&str, &str, Option<bool>)]) {
        for (pattern, value, expected) in cases {
            let got = Regex::new(pattern).ok().map(|r| r.is_full_match(value));
            assert_eq!(got, *expected, "pattern {pattern:?} on {value:?}");
        }
    }

    #[test]
    fn literals_anchors_and_classes() {
        check(&[
            (r"^\d+$", "12345", Some(true)),
            (r"^\d+$", "12a45", Some(false)),
            (r"^\d+$", "", Some(false)),
            (r"\d+", "42", Some(true)),
            // Whole-value semantics: a pattern that matches only a part does not pass.
            (r"\d+", "a42", Some(false)),
            (r"abc", "abc", Some(true)),
            (r"a.c", "a-c", Some(true)),
            (r"a.c", "a\nc", Some(false)),
            (r"[a-z]+", "hello", Some(true)),
            (r"[a-z]+", "Hello", Some(false)),
            (r"(?i)[a-z]+", "Hello", Some(true)),
            (r"(?i)hello", "HeLLo", Some(true)),
            (r"[^0-9]*", "abc", Some(true)),
            (r"[^0-9]*", "ab1", Some(false)),
            (r"[\w.-]+@[\w.-]+", "a.b-c@x.org", Some(true)),
            (r"[-a]+", "-a-", Some(true)),
            (r"[a-]+", "-a-", Some(true)),
            (r"[]a]+", "]a", Some(true)),
            (r"\S+\s\S+", "ab cd", Some(true)),
            (r"\D\W", "a!", Some(true)),
            (r"\x41\u0042", "AB", Some(true)),
            (r"\.\*\\", r".*\", Some(true)),
            (r"^https://[a-z.]+/?$", "https://example.com/", Some(true)),
            (r"^https://[a-z.]+/?$", "http://example.com", Some(false)),
        ]);
    }

    #[test]
    fn groups_alternation_and_repetition() {
        check(&[
            (r"(dev|test|prod)", "test", Some(true)),
            (r"(dev|test|prod)", "stage", Some(false)),
            (r"(?:ab)+", "ababab", Some(true)),
            (r"(?:ab)+", "ababa", Some(false)),
            (r"a{3}", "aaa", Some(true)),
            (r"a{3}", "aa", Some(false)),
            (r"a{2,}", "aaaaa", Some(true)),
            (r"a{2,3}", "aaaa", Some(false)),
            (r"a{0,2}b", "b", Some(true)),
            (r"a+?b*+c??", "aab", Some(true)),
            (r"x|", "", Some(true)),
            (r"(a*)*b", "aaab", Some(true)),
            (r"\bword\b", "word", Some(true)),
            (r"a\Bb", "ab", Some(true)),
            (r"\Aabc\z", "abc", Some(true)),
            (r"abc$", "abc\n", Some(false)),
            (r"abc$\n", "abc\n", Some(true)),
            (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "2024-01-31", Some(true)),
        ]);
    }

    #[test]
    fn refused_patterns() {
        check(&[
            (r"(", "", None),
            (r")", "", None),
            (r"[abc", "", None),
            (r"a{2", "", None),
            (r"a{3,2}", "", None),
            (r"*a", "", None),
            (r"a**", "", None),
            (r"\", "", None),
            (r"(?=a)", "", None),
            (r"(?<n>a)", "", None),
            (r"(a)\1", "", None),
            (r"\p{L}", "", None),
            (r"[a&&b]", "", None),
            (r"[z-a]", "", None),
            (r"a{1001}", "", None),
            (r"(a{1000}){3}", "", None),
            (r"(((((a{1000}){1000}){1000})))", "", None),
        ]);
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        // Exponential for a backtracking matcher; here a few thousand steps.
        let r = Regex::new(r"(a+)+$").unwrap();
        let value = format!("{}!", "a".repeat(5000));
        assert!(!r.is_full_match(&value));
        let r = Regex::new(r"(a|aa)*c").unwrap();
        assert!(!r.is_full_match(&"a".repeat(8192)));
    }
}
