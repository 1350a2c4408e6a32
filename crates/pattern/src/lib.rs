//! Event patterns: parsing, validation and matching (pure, no IO).
//!
//! This is EventBridge's pattern language as AWS documents and implements it:
//! exact values, `prefix`, `suffix`, `equals-ignore-case`, `wildcard`,
//! `anything-but`, `numeric`, `cidr`, `exists`, `$or`, nested fields, and
//! matching into arrays. [`Pattern::parse`] validates like AWS does and its
//! errors carry AWS's reason texts; [`RuleSet`] matches one event against many
//! patterns at once.
//!
//! ```
//! use pattern::{Pattern, RuleSet};
//! use serde_json::json;
//!
//! let p = Pattern::parse(r#"{"source": ["aws.ec2"], "detail": {"state": [{"anything-but": "running"}]}}"#)?;
//! assert!(p.matches(&json!({"source": "aws.ec2", "detail": {"state": "stopped"}})));
//!
//! let err = Pattern::parse(r#"{"source": "aws.ec2"}"#).unwrap_err();
//! assert_eq!(err.to_string(), r#"Event pattern is not valid. Reason: "source" must be an object or an array"#);
//!
//! let mut rules = RuleSet::new();
//! rules.insert("ec2-rule", p);
//! assert_eq!(rules.matching(&json!({"source": "aws.ec2", "detail": {"state": "stopped"}})), ["ec2-rule"]);
//! # Ok::<(), pattern::PatternError>(())
//! ```
//!
//! Invariant: this crate knows nothing about HTTP, storage or time. It serves
//! EventBridge rules and `TestEventPattern`, and is meant to grow into SNS
//! filter policies and event-source-mapping filters.

mod compile;
mod flat;
mod ip;
mod lexer;
mod matcher;
mod number;
mod ruleset;
mod wildcard;

// The case tables read best one case per line, wider than rustfmt allows.
#[cfg(test)]
#[rustfmt::skip]
mod tests;

use std::sync::Arc;

use serde_json::Value;

pub use ruleset::RuleSet;

use compile::Branch;
use flat::{BranchCheck, FieldCheck, Paths};

/// An invalid pattern. Displays as the message AWS puts in
/// `InvalidEventPatternException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Event pattern is not valid. Reason: {reason}")]
pub struct PatternError {
    reason: String,
}

impl PatternError {
    /// The part after "Reason: ".
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A compiled event pattern. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pattern {
    inner: Arc<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    /// Alternatives with field paths spelled out; kept for [`RuleSet`], which
    /// numbers paths across all of its patterns.
    branches: Vec<Branch>,
    paths: Paths,
    checks: Vec<BranchCheck>,
}

impl Pattern {
    /// Parses and validates a pattern given as JSON text. Errors carry AWS's reason text.
    pub fn parse(json: &str) -> Result<Pattern, PatternError> {
        let branches = compile::compile(json).map_err(|reason| PatternError { reason })?;
        let mut paths = Paths::default();
        let checks = branches
            .iter()
            .map(|b| branch_check(b, &mut paths))
            .collect();
        Ok(Pattern {
            inner: Arc::new(Compiled {
                branches,
                paths,
                checks,
            }),
        })
    }

    /// Whether `event` matches. Events that are not JSON objects never match.
    pub fn matches(&self, event: &Value) -> bool {
        let Some(flat) = flat::flatten(event, &self.inner.paths) else {
            return false;
        };
        self.inner.checks.iter().any(|c| c.matches(&flat))
    }

    fn branches(&self) -> &[Branch] {
        &self.inner.branches
    }
}

/// Compiles a branch against a path numbering.
fn branch_check(branch: &Branch, paths: &mut Paths) -> BranchCheck {
    let fields = branch
        .iter()
        .map(|(path, field)| FieldCheck {
            path: paths.intern(path),
            matchers: field.matchers.clone(),
            absent_ok: field.absent_ok,
        })
        .collect();
    BranchCheck { fields }
}
