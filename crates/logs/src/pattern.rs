//! CloudWatch Logs filter patterns for unstructured text: terms that must all appear,
//! quoted phrases, `?term` alternatives and `-term` exclusions. JSON (`{ $.x = 1 }`) and
//! space-delimited (`[a, b]`) patterns are refused with a clear error.

/// A compiled filter pattern.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with('{') || s.starts_with('[') {
            return Err(
                "Eddy supports term filter patterns only; JSON and space-delimited patterns are not implemented yet".into(),
            );
        }
        let mut p = Pattern::default();
        let mut chars = s.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let Some(&c) = chars.peek() else { break };
            let kind = match c {
                '?' => {
                    chars.next();
                    1
                }
                '-' => {
                    chars.next();
                    2
                }
                _ => 0,
            };
            let mut term = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        if let Some(n) = chars.next() {
                            term.push(n);
                        }
                    } else if c == '"' {
                        closed = true;
                        break;
                    } else {
                        term.push(c);
                    }
                }
                if !closed {
                    return Err("Invalid filter pattern: unterminated quoted term".into());
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    term.push(c);
                    chars.next();
                }
            }
            if term.is_empty() {
                continue;
            }
            match kind {
                1 => p.any.push(term),
                2 => p.none.push(term),
                _ => p.all.push(term),
            }
        }
        Ok(p)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, message: &str, expected: bool) {
        let p = Pattern::parse(pattern).unwrap();
        assert_eq!(p.matches(message), expected, "{pattern:?} on {message:?}");
    }

    #[test]
    fn term_patterns() {
        check("", "anything", true);
        check("ERROR", "an ERROR here", true);
        check("ERROR", "an error here", false);
        check("ERROR timeout", "ERROR: timeout", true);
        check("ERROR timeout", "ERROR only", false);
        check(
            "\"Task timed out\"",
            "x Task timed out after 1.00 seconds",
            true,
        );
        check("?ERROR ?WARN", "WARN x", true);
        check("?ERROR ?WARN", "INFO x", false);
        check("ERROR -retry", "ERROR retry", false);
        check("ERROR -retry", "ERROR final", true);
        assert!(Pattern::parse("{ $.a = 1 }").is_err());
        assert!(Pattern::parse("\"open").is_err());
    }
}
