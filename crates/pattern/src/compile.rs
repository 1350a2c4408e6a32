//! Turns pattern JSON into branches: alternative sets of field conditions.
//!
//! The grammar is walked token by token in document order and every check
//! happens where AWS makes it, so the first problem reported (and its wording)
//! is the one AWS reports. `$or` forks the branches built so far; fields after
//! it apply to every fork. Nested objects and dotted keys both produce dotted
//! paths (`{"a": {"b": ..}}` and `{"a.b": ..}` are the same field), and a
//! field given twice in one branch keeps its last value.

use std::collections::{BTreeMap, HashSet};

use crate::ip;
use crate::lexer::{Lexer, Token};
use crate::matcher::{AnythingBut, Bound, IgnoreCase, Matcher, Range};
use crate::number;
use crate::wildcard::{self, Step, Wildcard};

/// Forks beyond this many branches are refused: nested `$or`s multiply, and
/// a few kilobytes of pattern could otherwise ask for billions of branches.
pub(crate) const BRANCHES_MAX: usize = 1024;

/// Keys with a meaning of their own that cannot name a field inside `$or`.
const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

/// The conditions on one field within a branch.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The field matches if any leaf value satisfies any matcher…
    pub(crate) matchers: Vec<Matcher>,
    /// …or, with `exists: false` listed, if it has no leaf value at all.
    pub(crate) absent_ok: bool,
}

/// Field path to conditions; all must hold. Sorted by path, which is also the
/// order AWS checks fields in (it matters for arrays, see `flat`).
pub(crate) type Branch = BTreeMap<String, Field>;

/// Compiles pattern JSON; errors are AWS's reason texts.
pub(crate) fn compile(src: &str) -> Result<Vec<Branch>, String> {
    let mut compiler = Compiler {
        lexer: Lexer::new(src),
        path: Vec::new(),
    };
    if compiler.next()? != Some(Token::StartObject) {
        return Err("Filter is not an object".to_string());
    }
    let mut branches = Vec::new();
    compiler.object(&mut branches, false)?;
    check_complexity(&branches)?;
    Ok(branches)
}

struct Compiler<'a> {
    lexer: Lexer<'a>,
    path: Vec<String>,
}

impl Compiler<'_> {
    fn next(&mut self) -> Result<Option<Token>, String> {
        self.lexer.next_token()
    }

    /// Like `next`, for places where the grammar guarantees a token (an open
    /// container is never left by the end of input without an error).
    fn token(&mut self) -> Result<Token, String> {
        self.next()?
            .ok_or_else(|| "Unexpected end-of-input".to_string())
    }

    fn expect_end_object(&mut self, reason: &str) -> Result<(), String> {
        match self.token()? {
            Token::EndObject => Ok(()),
            _ => Err(reason.to_string()),
        }
    }

    /// The members of an object whose `{` was just read.
    fn object(&mut self, branches: &mut Vec<Branch>, in_or: bool) -> Result<(), String> {
        let mut any_field = false;
        loop {
            let name = match self.token()? {
                Token::EndObject => break,
                Token::Field(name) => name,
                other => unreachable!("the lexer yields names inside objects, got {other:?}"),
            };
            any_field = true;
            if name == "$or" {
                self.or(branches)?;
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&name.as_str()) {
                return Err(format!(
                    "{name} is Ruler reserved fieldName which cannot be used inside $or."
                ));
            }
            match self.token()? {
                Token::StartObject => {
                    self.path.push(name);
                    self.object(branches, in_or)?;
                    self.path.pop();
                }
                Token::StartArray => {
                    let mut path = self.path.join(".");
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&name);
                    self.field(branches, path)?;
                }
                _ => return Err(format!("\"{name}\" must be an object or an array")),
            }
        }
        if !any_field {
            return Err("Empty objects are not allowed".to_string());
        }
        Ok(())
    }

    /// The value of `$or`: an array of at least two objects, each forking the
    /// branches built so far.
    fn or(&mut self, branches: &mut Vec<Branch>) -> Result<(), String> {
        let before = std::mem::take(branches);
        if self.token()? != Token::StartArray {
            return Err("It must be an Array followed with $or.".to_string());
        }
        let mut alternatives = 0;
        loop {
            match self.token()? {
                Token::EndArray => break,
                Token::StartObject => {
                    alternatives += 1;
                    let mut forks = if before.is_empty() {
                        vec![Branch::new()]
                    } else {
                        before.clone()
                    };
                    self.object(&mut forks, true)?;
                    branches.extend(forks);
                    if branches.len() > BRANCHES_MAX {
                        return Err(format!(
                            "Too many $or combinations; at most {BRANCHES_MAX} are supported"
                        ));
                    }
                }
                _ => {
                    return Err(
                        "Only JSON object is allowed in array of $or relationship.".to_string()
                    )
                }
            }
        }
        if alternatives < 2 {
            return Err("There must have at least 2 Objects in $or relationship.".to_string());
        }
        Ok(())
    }

    /// A field's array of values, whose `[` was just read.
    fn field(&mut self, branches: &mut Vec<Branch>, path: String) -> Result<(), String> {
        let mut matchers = Vec::new();
        let mut absent_ok = false;
        let mut any_value = false;
        loop {
            let matcher = match self.token()? {
                Token::EndArray => break,
                Token::StartObject => match self.expression()? {
                    Some(m) => m,
                    None => {
                        absent_ok = true;
                        any_value = true;
                        continue;
                    }
                },
                Token::Str(s) => match ip::address(&s) {
                    Some(ip) => Matcher::Ip(ip),
                    None => Matcher::Str(s.into()),
                },
                Token::Num(text) => Matcher::Num {
                    value: number::comparable(&text),
                    text: text.into(),
                },
                Token::True => Matcher::Bool(true),
                Token::False => Matcher::Bool(false),
                Token::Null => Matcher::Null,
                _ => {
                    return Err(
                        "Match value must be String, number, true, false, or null".to_string()
                    )
                }
            };
            any_value = true;
            matchers.push(matcher);
        }
        if !any_value {
            return Err("Empty arrays are not allowed".to_string());
        }
        if branches.is_empty() {
            branches.push(Branch::new());
        }
        let field = Field {
            matchers,
            absent_ok,
        };
        for branch in branches.iter_mut() {
            branch.insert(path.clone(), field.clone());
        }
        Ok(())
    }

    /// A match expression such as `{"prefix": "x"}` whose `{` was just read.
    /// `None` stands for `{"exists": false}`, which is not a value matcher.
    fn expression(&mut self) -> Result<Option<Matcher>, String> {
        const ONE_KEY: &str = "Only one key allowed in match expression";
        let Token::Field(kind) = self.token()? else {
            return Err("Match expression name not found".to_string());
        };
        let matcher = match kind.as_str() {
            "exactly" => {
                let Token::Str(s) = self.token()? else {
                    return Err("exact match pattern must be a string".to_string());
                };
                self.expect_end_object(ONE_KEY)?;
                Matcher::Str(s.into())
            }
            "prefix" | "suffix" => {
                let prefix = kind == "prefix";
                match self.token()? {
                    Token::StartObject => {
                        let ic = self
                            .nested_ignore_case(if prefix { "Prefix" } else { "Suffix" }, &kind)?;
                        if prefix {
                            Matcher::PrefixIgnoreCase(ic)
                        } else {
                            Matcher::SuffixIgnoreCase(ic)
                        }
                    }
                    Token::Str(s) => {
                        self.expect_end_object(ONE_KEY)?;
                        if prefix {
                            Matcher::Prefix(s.into())
                        } else {
                            Matcher::Suffix(s.into())
                        }
                    }
                    _ => return Err(format!("{kind} match pattern must be a string")),
                }
            }
            "numeric" => {
                if self.token()? != Token::StartArray {
                    return Err("Value of numeric must be an array.".to_string());
                }
                let range = self.numeric()?;
                self.expect_end_object("Too many elements in numeric expression")?;
                Matcher::Range(range)
            }
            "anything-but" => Matcher::AnythingBut(self.anything_but()?),
            "exists" => {
                let exists = match self.token()? {
                    Token::True => true,
                    Token::False => false,
                    _ => {
                        return Err("exists match pattern must be either true or false.".to_string())
                    }
                };
                self.expect_end_object(ONE_KEY)?;
                if !exists {
                    return Ok(None);
                }
                Matcher::Exists
            }
            "cidr" => {
                // AWS words this error like prefix matching, which it reuses.
                let Token::Str(s) = self.token()? else {
                    return Err("prefix match pattern must be a string".to_string());
                };
                let range = ip::cidr(&s)?;
                self.expect_end_object(ONE_KEY)?;
                Matcher::Cidr(range)
            }
            "equals-ignore-case" => {
                let Token::Str(s) = self.token()? else {
                    return Err("equals-ignore-case match pattern must be a string".to_string());
                };
                self.expect_end_object(ONE_KEY)?;
                Matcher::EqualsIgnoreCase(IgnoreCase::new(&s))
            }
            "wildcard" => {
                let Token::Str(s) = self.token()? else {
                    return Err("wildcard match pattern must be a string".to_string());
                };
                let w = Wildcard::parse(&s)?;
                self.expect_end_object(ONE_KEY)?;
                Matcher::Wildcard(w)
            }
            _ => return Err(format!("Unrecognized match type {kind}")),
        };
        Ok(Some(matcher))
    }

    /// `{"equals-ignore-case": "x"}` inside prefix or suffix, whose `{` was just read.
    fn nested_ignore_case(&mut self, label: &str, kind: &str) -> Result<IgnoreCase, String> {
        const ONE_KEY: &str = "Only one key allowed in match expression";
        let Token::Field(inner) = self.token()? else {
            return Err(format!("{label} expression name not found"));
        };
        if inner != "equals-ignore-case" {
            return Err(format!("Unsupported {kind} pattern: {inner}"));
        }
        let Token::Str(s) = self.token()? else {
            return Err("equals-ignore-case match pattern must be a string".to_string());
        };
        self.expect_end_object(ONE_KEY)?;
        self.expect_end_object(ONE_KEY)?;
        Ok(IgnoreCase::new(&s))
    }

    /// The operator list of `numeric`, whose `[` was just read.
    fn numeric(&mut self) -> Result<Range, String> {
        let token = self.token()?;
        let Token::Str(op) = token else {
            return Err(format!("Invalid member in numeric match: {}", token.text()));
        };
        let label = if op == "=" { "equals" } else { op.as_str() };
        if !matches!(op.as_str(), "=" | "<" | "<=" | ">" | ">=") {
            // The operand is read before the operator is judged.
            self.token()?;
            return Err(format!("Unrecognized numeric range operator: {op}"));
        }
        let Token::Num(first) = self.token()? else {
            return Err(format!("Value of {label} must be numeric"));
        };
        let inclusive = op.contains('=');
        match op.as_str() {
            "=" | "<" | "<=" => {
                if self.token()? != Token::EndArray {
                    return Err("Too many elements in numeric expression".to_string());
                }
                let value = comparable_or_err(&first)?;
                let bound = Some(Bound { value, inclusive });
                Ok(if op == "=" {
                    Range {
                        low: bound,
                        high: bound,
                    }
                } else {
                    Range {
                        low: None,
                        high: bound,
                    }
                })
            }
            _ => {
                let token = self.token()?;
                if token == Token::EndArray {
                    let value = comparable_or_err(&first)?;
                    return Ok(Range {
                        low: Some(Bound { value, inclusive }),
                        high: None,
                    });
                }
                let Token::Str(top_op) = token else {
                    return Err(format!("Bad value in numeric range: {}", token.text()));
                };
                if top_op != "<" && top_op != "<=" {
                    return Err(format!("Bad numeric range operator: {top_op}"));
                }
                let Token::Num(second) = self.token()? else {
                    return Err(format!("Value of {top_op} must be numeric"));
                };
                if self.token()? != Token::EndArray {
                    return Err("Too many terms in numeric range expression".to_string());
                }
                let low = comparable_or_err(&first)?;
                let high = comparable_or_err(&second)?;
                if low >= high {
                    return Err("Bottom must be less than top".to_string());
                }
                Ok(Range {
                    low: Some(Bound {
                        value: low,
                        inclusive,
                    }),
                    high: Some(Bound {
                        value: high,
                        inclusive: top_op == "<=",
                    }),
                })
            }
        }
    }

    /// The value of `anything-but`.
    fn anything_but(&mut self) -> Result<AnythingBut, String> {
        let mut kind: Option<String> = None;
        let mut token = self.token()?;
        if token == Token::StartObject {
            let Token::Field(inner) = self.token()? else {
                return Err("Anything-But expression name not found".to_string());
            };
            if !matches!(
                inner.as_str(),
                "equals-ignore-case" | "prefix" | "suffix" | "wildcard"
            ) {
                return Err(format!("Unsupported anything-but pattern: {inner}"));
            }
            kind = Some(inner);
            token = self.token()?;
        }
        if !matches!(token, Token::StartArray | Token::Str(_) | Token::Num(_)) {
            return Err(
                "Value of anything-but must be an array or single string/number value.".to_string(),
            );
        }
        let result = match kind.as_deref() {
            None => self.anything_but_values(token)?,
            Some(kind) => self.anything_but_set(kind, token)?,
        };
        self.expect_end_object("Too many elements in numeric expression")?;
        if kind.is_some() {
            self.expect_end_object("Too many elements in numeric expression")?;
        }
        Ok(result)
    }

    /// Plain `anything-but`: one string or number, or a list of only strings
    /// or only numbers.
    fn anything_but_values(&mut self, first: Token) -> Result<AnythingBut, String> {
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        let list = first == Token::StartArray;
        let mut token = if list { self.token()? } else { first };
        loop {
            match token {
                Token::EndArray if list => break,
                Token::Str(s) => strings.push(s.into_boxed_str()),
                Token::Num(n) => numbers.push(comparable_or_err(&n)?),
                _ => {
                    return Err(
                        "Inside anything but list, start|null|boolean is not supported."
                            .to_string(),
                    )
                }
            }
            if !list {
                break;
            }
            token = self.token()?;
        }
        match (strings.is_empty(), numbers.is_empty()) {
            (false, true) => Ok(AnythingBut::Strings(strings)),
            (true, false) => Ok(AnythingBut::Numbers(numbers)),
            _ => Err("Inside anything but list, either all values are number or string, mixed type is not supported".to_string()),
        }
    }

    /// `anything-but` with `prefix`, `suffix`, `equals-ignore-case` or
    /// `wildcard`: one string or a list of strings.
    fn anything_but_set(&mut self, kind: &str, first: Token) -> Result<AnythingBut, String> {
        let list = first == Token::StartArray;
        let mut values: Vec<String> = Vec::new();
        let mut token = if list { self.token()? } else { first };
        loop {
            match token {
                Token::EndArray if list => break,
                Token::Str(s) => {
                    if s.is_empty() && (kind == "prefix" || kind == "suffix") {
                        return Err("Null prefix/suffix not allowed".to_string());
                    }
                    values.push(s);
                }
                _ => {
                    return Err(match kind {
                        "equals-ignore-case" => "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
                        "wildcard" => "wildcard match pattern must be a string",
                        _ => "prefix/suffix match pattern must be a string",
                    }
                    .to_string())
                }
            }
            if !list {
                break;
            }
            token = self.token()?;
        }
        Ok(match kind {
            "prefix" => {
                AnythingBut::Prefixes(values.into_iter().map(String::into_boxed_str).collect())
            }
            "suffix" => {
                AnythingBut::Suffixes(values.into_iter().map(String::into_boxed_str).collect())
            }
            "equals-ignore-case" => {
                AnythingBut::IgnoreCase(values.iter().map(|v| IgnoreCase::new(v)).collect())
            }
            _ => AnythingBut::Wildcards(
                values
                    .iter()
                    .map(|v| Wildcard::parse(v))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

fn comparable_or_err(text: &str) -> Result<f64, String> {
    number::comparable(text).ok_or_else(|| format!("Cannot compare number : {text}"))
}

/// Rejects rules whose wildcards AWS considers too costly to match, field by
/// field (each field has its own automaton).
fn check_complexity(branches: &[Branch]) -> Result<(), String> {
    // Per path: the distinct wildcard patterns, each with its alternatives.
    let mut per_path: BTreeMap<&str, Vec<Vec<&[Step]>>> = BTreeMap::new();
    for branch in branches {
        for (path, field) in branch {
            for m in &field.matchers {
                let alternatives: Vec<&[Step]> = match m {
                    Matcher::Wildcard(w) => vec![w.steps()],
                    Matcher::AnythingBut(AnythingBut::Wildcards(ws)) => {
                        ws.iter().map(Wildcard::steps).collect()
                    }
                    _ => continue,
                };
                let patterns = per_path.entry(path).or_default();
                if !patterns.contains(&alternatives) {
                    patterns.push(alternatives);
                }
            }
        }
    }
    for patterns in per_path.values() {
        let mut numbered: Vec<(usize, &[Step])> = Vec::new();
        for (id, alternatives) in patterns.iter().enumerate() {
            // Equal alternatives of one pattern share their automaton path.
            let mut seen: HashSet<&[Step]> = HashSet::new();
            for steps in alternatives {
                if seen.insert(steps) {
                    numbered.push((id, steps));
                }
            }
        }
        if wildcard::complexity(&numbered, wildcard::COMPLEXITY_MAX) > wildcard::COMPLEXITY_MAX {
            return Err(wildcard::TOO_COMPLEX.to_string());
        }
    }
    Ok(())
}
