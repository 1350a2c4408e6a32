//! Why a schedule expression or a time zone name was refused.

use crate::Flavor;

/// A schedule expression or time zone that AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression does not parse, or breaks one of the rules of its flavor.
    #[error("{}", explained_message(*.flavor, .expression, .reason))]
    InvalidExpression {
        /// Which API the expression was given to; it decides AWS's wording.
        flavor: Flavor,
        /// The expression as given.
        expression: String,
        /// What is wrong with it, for a person to read.
        reason: String,
    },
    /// The name is not an IANA time zone known to the time zone database.
    #[error("Invalid ScheduleExpressionTimezone {name}: not a known IANA time zone name")]
    UnknownTimeZone {
        /// The name as given.
        name: String,
    },
}

impl ScheduleError {
    /// The message AWS itself sends for this error, without our explanation.
    ///
    /// EventBridge's PutRule answers every bad expression with one fixed sentence; Scheduler
    /// names the expression. Both come back as a `ValidationException`. AWS's wording for an
    /// unknown time zone was not found in its documentation; ours follows the same pattern.
    pub fn aws_message(&self) -> String {
        match self {
            ScheduleError::InvalidExpression {
                flavor, expression, ..
            } => aws_expression_message(*flavor, expression),
            ScheduleError::UnknownTimeZone { name } => {
                format!("Invalid ScheduleExpressionTimezone {name}")
            }
        }
    }
}

fn explained_message(flavor: Flavor, expression: &str, reason: &str) -> String {
    match flavor {
        Flavor::Rule => format!("Parameter ScheduleExpression is not valid: {reason}."),
        Flavor::Scheduler => format!("Invalid Schedule Expression {expression}: {reason}"),
    }
}

fn aws_expression_message(flavor: Flavor, expression: &str) -> String {
    match flavor {
        Flavor::Rule => "Parameter ScheduleExpression is not valid.".to_owned(),
        Flavor::Scheduler => format!("Invalid Schedule Expression {expression}"),
    }
}
