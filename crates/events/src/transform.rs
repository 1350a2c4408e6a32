//! Target input: InputPath selection and InputTransformer templates (pure, no IO).
//!
//! A target may name at most one of `Input`, `InputPath` and `InputTransformer`.
//! [`target_input`] checks them the way PutTargets does; [`TargetInput::render`] produces
//! the text one matched event delivers. The rules come from AWS's user guide ("Amazon
//! EventBridge input transformation"), the API reference (`PutTargets`, `InputTransformer`),
//! the `events/2015-10-07` model, and, where those are silent, from behaviour recorded
//! against AWS in public test snapshots. Rules marked *(unverified)* are choices made here.
//!
//! # PutTargets checks, in AWS's order
//!
//! 1. Model constraints, reported together as `N validation error(s) detected: ...`:
//!    `Input` ≤ 8192, `InputPath` ≤ 256, `InputTemplate` 1..=8192, `InputPathsMap` ≤ 100
//!    entries whose keys are 1..=256 long and match `[A-Za-z0-9\_\-]+` (so no key can take
//!    a reserved `aws.` name) and whose values are ≤ 256. Lengths count UTF-16 code units,
//!    as AWS's Java validators do.
//! 2. More than one of the three → `Only one of Input, InputPath, or InputTransformer must
//!    be provided for target ID.` An empty `Input` or `InputPath` counts as unset
//!    *(unverified)*.
//! 3. `Input` must be one JSON text → `JSON syntax error in input for target ID: REASON`.
//! 4. `InputPath` and each `InputPathsMap` value must be a path of the subset below →
//!    `InputPath for target ID is invalid.` (one message for both *(unverified)*).
//! 5. Every `<name>` in the template must be a map key or a predefined variable →
//!    `InputTemplate for target ID contains invalid placeholder NAME.`
//!
//! Nothing else about a template is checked at PutTargets: a template that renders to
//! invalid output is accepted and then fails at delivery, as on AWS.
//!
//! # Paths
//!
//! `$` followed by any number of `.name`, `.*`, `[n]`, `[-n]` (counted from the end) and
//! `[*]`. A name is any run of characters other than `. [ ] * ' "`, whitespace and
//! controls (AWS documents letters, digits, `-`, `_` and `/`). Bracketed names (`['a']`,
//! which AWS refuses: "use JSON dot notation"), deep scan (`..`), filters, slices and unions
//! are refused. A path without a wildcard selects one value or nothing; a path with one
//! selects an array of every value it reaches, possibly empty (JSONPath's definite and
//! indefinite paths). A wildcard over an object takes its member values in order.
//!
//! # What the target receives
//!
//! - Nothing set: the event as compact JSON, envelope fields in AWS's order (`version`,
//!   `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`);
//!   nested objects keep the order of the given `serde_json::Value`.
//! - `Input`: the text exactly as given.
//! - `InputPath`: the selection as compact JSON, so a string arrives quoted (`"PAID"`).
//!   A path that selects nothing delivers nothing ([`RenderError::NothingSelected`])
//!   *(unverified)*.
//! - `InputTransformer`: the template with its placeholders replaced, as below.
//!
//! # Templates
//!
//! A placeholder runs from `<` to the next `>` on the same line. `<` and `>` cannot be
//! escaped, so `<b>` inside a JSON string is a placeholder too. Variables are the map's
//! keys, each standing for its path's selection, and the predefined ones:
//!
//! - `aws.events.rule-arn`, `aws.events.rule-name`: strings from [`Context`];
//! - `aws.events.event.ingestion-time`: the ISO-8601 string from [`Context`];
//! - `aws.events.event`: the event without `detail`, with `detail-type` renamed
//!   `detailType`, fields in the order AWS writes them (`id`, `account`, `detailType`,
//!   `time`, `source`, `region`, `resources`, `version`);
//! - `aws.events.event.json`: the whole event.
//!
//! A path that selects nothing gives the empty string (AWS: "that variable isn't created";
//! recorded output shows `""` in a JSON value position and nothing inside a string).
//!
//! A template whose first non-blank character is `{` is a JSON template:
//!
//! - Outside string literals a value is written as JSON: a string quoted and escaped
//!   (`<status>` → `"PAID"`), numbers, booleans, null, objects and arrays as they are, a
//!   missing value as `""`.
//! - Inside a string literal a value is written unescaped ("EventBridge doesn't escape
//!   values extracted by Input Path"): a string's characters, a number's or boolean's text.
//!   An object or array is written as JSON, whose quotes end the string, so the output is
//!   invalid and the event is not delivered; the same happens to a string value holding `"`.
//!   (EventBridge Pipes strips the quotes instead; recorded EventBridge output does not.)
//! - The output must be exactly one JSON value; it is delivered minified (whitespace
//!   outside strings removed, key order kept), as AWS's guide says.
//!
//! Every other template is text. Each value is written unescaped; objects and arrays as
//! compact JSON with every `"` removed (`{name:Ana,tier:gold}`, `[new,vip]`); the
//! template's own characters, escapes included, are kept. The output must begin with a
//! JSON value, usually a string (`"order <id> shipped"`); text after that value is allowed,
//! as AWS's lenient parser allows it, and the output is delivered as it is. So a template
//! without quotes, `order <id> shipped`, delivers nothing: "For Strings, quotes are
//! required". A template starting with `[` is text too *(unverified)*.
//!
//! Output that breaks these rules is [`RenderError::NotJson`]: AWS counts a failed
//! invocation and the target receives nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Longest `Input` (model shape `TargetInput`), in UTF-16 code units.
pub const INPUT_CHARS_MAX: usize = 8192;
/// Longest `InputPath` or `InputPathsMap` value (`TargetInputPath`), in UTF-16 code units.
pub const PATH_CHARS_MAX: usize = 256;
/// Longest `InputTemplate` (`TransformerInput`), in UTF-16 code units; the shortest is 1.
pub const TEMPLATE_CHARS_MAX: usize = 8192;
/// Most entries in `InputPathsMap` (`TransformerPaths`).
pub const PATHS_MAP_ENTRIES_MAX: usize = 100;
/// Longest `InputPathsMap` key (`InputTransformerPathKey`), in UTF-16 code units.
pub const PATHS_MAP_KEY_CHARS_MAX: usize = 256;

const RULE_ARN: &str = "aws.events.rule-arn";
const RULE_NAME: &str = "aws.events.rule-name";
const INGESTION_TIME: &str = "aws.events.event.ingestion-time";
const EVENT: &str = "aws.events.event";
const EVENT_JSON: &str = "aws.events.event.json";

/// Envelope fields in the order AWS writes an event: (field, name written).
const ENVELOPE_ORDER: [(&str, &str); 9] = [
    ("version", "version"),
    ("id", "id"),
    ("detail-type", "detail-type"),
    ("source", "source"),
    ("account", "account"),
    ("time", "time"),
    ("region", "region"),
    ("resources", "resources"),
    ("detail", "detail"),
];

/// `aws.events.event`'s fields in the order AWS writes them; it renames `detail-type`.
const SUMMARY_ORDER: [(&str, &str); 8] = [
    ("id", "id"),
    ("account", "account"),
    ("detail-type", "detailType"),
    ("time", "time"),
    ("source", "source"),
    ("region", "region"),
    ("resources", "resources"),
    ("version", "version"),
];

/// The target being checked, for error messages: AWS names it by `Id` in its own checks
/// and by 1-based position (`targets.N.member`) in model-constraint messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef<'a> {
    pub id: &'a str,
    pub position: usize,
}

/// What a target receives for each matched event, checked and parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetInput {
    /// The whole event.
    Event,
    /// `Input`: fixed JSON text, nothing from the event.
    Constant(String),
    /// `InputPath`: one part of the event.
    Path(JsonPath),
    /// `InputTransformer`: a template filled from the event.
    Transformer(Transformer),
}

/// A path of the JSONPath subset AWS accepts (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(i64),
    Wildcard,
}

/// An `InputTransformer` whose template is split into text and placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformer {
    template: String,
    json: bool,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// `in_string` is only ever true in a JSON template: the placeholder sits inside a
    /// string literal, which decides how its value is written.
    Slot {
        var: Var,
        in_string: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Var {
    Path(JsonPath),
    RuleArn,
    RuleName,
    IngestionTime,
    Event,
    EventJson,
}

/// What the rule that matched knows beyond the event itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub rule_arn: &'a str,
    pub rule_name: &'a str,
    /// When EventBridge received the event, ISO-8601 (`2024-03-01T10:00:00Z`).
    pub ingestion_time: &'a str,
}

/// Why PutTargets refuses a target's input. Every variant is AWS's `ValidationException`
/// (HTTP 400) and its message is AWS's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The request breaks the model's constraints (lengths, entry count, key pattern).
    #[error("{0}")]
    Constraints(Violations),
    #[error(
        "Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
    )]
    MoreThanOne { target_id: String },
    #[error("JSON syntax error in input for target {target_id}: {reason}")]
    InputNotJson { target_id: String, reason: String },
    /// `InputPath` or an `InputPathsMap` value is outside the supported path syntax.
    #[error("InputPath for target {target_id} is invalid.")]
    InvalidPath { target_id: String, path: String },
    #[error("InputTemplate for target {target_id} contains invalid placeholder {name}.")]
    InvalidPlaceholder { target_id: String, name: String },
}

impl TransformError {
    /// The AWS error code the API answers with.
    pub fn aws_code(&self) -> &'static str {
        "ValidationException"
    }
}

/// Model-constraint failures, written the way AWS's request validation lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

/// One model-constraint failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as AWS names it: `targets.1.member.inputPath`.
    pub field: String,
    /// The offending value, when AWS echoes it (it does for strings, not for maps).
    pub value: Option<String>,
    pub constraint: String,
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let plural = if count == 1 { "" } else { "s" };
        write!(f, "{count} validation error{plural} detected: ")?;
        for (i, violation) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "Value '{value}' at '{}'", self.field)?,
            None => write!(f, "Value at '{}'", self.field)?,
        }
        write!(f, " failed to satisfy constraint: {}", self.constraint)
    }
}

/// Why one event delivers nothing to a target. AWS records these as failed invocations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("InputPath {path} selects nothing in the event")]
    NothingSelected { path: String },
    #[error("transformed input is not valid JSON: {reason}")]
    NotJson { reason: String },
}

/// Checks a target's `Input`, `InputPath` and `InputTransformer` (its `InputPathsMap`,
/// empty when absent, and `InputTemplate`) as given to PutTargets.
pub fn target_input(
    target: TargetRef<'_>,
    input: Option<&str>,
    input_path: Option<&str>,
    transformer: Option<(&BTreeMap<String, String>, &str)>,
) -> Result<TargetInput, TransformError> {
    let input = input.filter(|text| !text.is_empty());
    let input_path = input_path.filter(|text| !text.is_empty());
    check_constraints(target.position, input, input_path, transformer)?;

    let given = [input.is_some(), input_path.is_some(), transformer.is_some()];
    if given.iter().filter(|&&set| set).count() > 1 {
        return Err(TransformError::MoreThanOne {
            target_id: target.id.to_owned(),
        });
    }
    if let Some(text) = input {
        return match serde_json::from_str::<Value>(text) {
            Ok(_) => Ok(TargetInput::Constant(text.to_owned())),
            Err(e) => Err(TransformError::InputNotJson {
                target_id: target.id.to_owned(),
                reason: e.to_string(),
            }),
        };
    }
    if let Some(text) = input_path {
        return parse_path(target.id, text).map(TargetInput::Path);
    }
    if let Some((paths, template)) = transformer {
        return Transformer::new(target.id, paths, template).map(TargetInput::Transformer);
    }
    Ok(TargetInput::Event)
}

impl TargetInput {
    /// The text the target receives for `event` (the envelope as EventBridge built it).
    pub fn render(&self, event: &Value, ctx: &Context<'_>) -> Result<String, RenderError> {
        match self {
            TargetInput::Event => Ok(envelope_json(event)),
            TargetInput::Constant(text) => Ok(text.clone()),
            TargetInput::Path(path) => match path.select(event) {
                Some(selection) => Ok(selection.to_json(event)),
                None => Err(RenderError::NothingSelected {
                    path: path.text.clone(),
                }),
            },
            TargetInput::Transformer(transformer) => transformer.render(event, ctx),
        }
    }
}

impl JsonPath {
    /// Parses a path of the supported subset; `None` when it is outside it.
    pub fn parse(text: &str) -> Option<JsonPath> {
        let mut rest = text.strip_prefix('$')?;
        let mut steps = Vec::new();
        while let Some(first) = rest.chars().next() {
            match first {
                '.' => {
                    let after = &rest[1..];
                    if let Some(tail) = after.strip_prefix('*') {
                        steps.push(Step::Wildcard);
                        rest = tail;
                        continue;
                    }
                    let end = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
                    if end == 0 {
                        return None;
                    }
                    steps.push(Step::Key(after[..end].to_owned()));
                    rest = &after[end..];
                }
                '[' => {
                    let close = rest.find(']')?;
                    let inner = &rest[1..close];
                    steps.push(if inner == "*" {
                        Step::Wildcard
                    } else {
                        Step::Index(parse_index(inner)?)
                    });
                    rest = &rest[close + 1..];
                }
                _ => return None,
            }
        }
        Some(JsonPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn select<'e>(&self, root: &'e Value) -> Option<Selection<'e>> {
        let mut reached = vec![root];
        let mut definite = true;
        for step in &self.steps {
            let mut next = Vec::new();
            for value in reached {
                match step {
                    Step::Key(key) => next.extend(value.get(key.as_str())),
                    Step::Index(index) => {
                        if let Some(items) = value.as_array() {
                            next.extend(element(items, *index));
                        }
                    }
                    Step::Wildcard => match value {
                        Value::Array(items) => next.extend(items),
                        Value::Object(fields) => next.extend(fields.values()),
                        _ => {}
                    },
                }
            }
            definite &= *step != Step::Wildcard;
            reached = next;
        }
        if definite {
            reached.first().map(|value| Selection::One(value))
        } else {
            Some(Selection::Many(reached))
        }
    }
}

fn is_name_char(c: char) -> bool {
    !matches!(c, '.' | '[' | ']' | '*' | '\'' | '"') && !c.is_whitespace() && !c.is_control()
}

fn parse_index(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn element(items: &[Value], index: i64) -> Option<&Value> {
    let position = if index < 0 {
        i64::try_from(items.len()).ok()? + index
    } else {
        index
    };
    items.get(usize::try_from(position).ok()?)
}

fn parse_path(target_id: &str, text: &str) -> Result<JsonPath, TransformError> {
    JsonPath::parse(text).ok_or_else(|| TransformError::InvalidPath {
        target_id: target_id.to_owned(),
        path: text.to_owned(),
    })
}

/// What a path reached: one value (definite path) or all of them (indefinite path).
enum Selection<'e> {
    One(&'e Value),
    Many(Vec<&'e Value>),
}

impl Selection<'_> {
    fn to_json(&self, root: &Value) -> String {
        match self {
            // `$` is the event itself, which keeps the envelope's order.
            Selection::One(value) if std::ptr::eq(*value, root) => envelope_json(root),
            Selection::One(value) => value.to_string(),
            Selection::Many(values) => {
                let mut out = String::from("[");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&value.to_string());
                }
                out.push(']');
                out
            }
        }
    }
}

impl Transformer {
    fn new(
        target_id: &str,
        paths: &BTreeMap<String, String>,
        template: &str,
    ) -> Result<Transformer, TransformError> {
        let parsed = paths
            .iter()
            .map(|(key, text)| Ok((key.as_str(), parse_path(target_id, text)?)))
            .collect::<Result<BTreeMap<_, _>, TransformError>>()?;
        let json = template.trim_start().starts_with('{');
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut rest = template;
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                if let Some(name) = placeholder_name(&rest[1..]) {
                    let var = variable(name, &parsed).ok_or_else(|| {
                        TransformError::InvalidPlaceholder {
                            target_id: target_id.to_owned(),
                            name: name.to_owned(),
                        }
                    })?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Slot {
                        var,
                        in_string: json && in_string,
                    });
                    rest = &rest[name.len() + 2..];
                    continue;
                }
            }
            if json {
                // Follows JSON string literals just far enough to know whether a
                // placeholder sits inside one.
                if escaped {
                    escaped = false;
                } else if in_string && c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = !in_string;
                }
            }
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Transformer {
            template: template.to_owned(),
            json,
            parts,
        })
    }

    /// The template as written.
    pub fn template(&self) -> &str {
        &self.template
    }

    fn render(&self, event: &Value, ctx: &Context<'_>) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Slot { var, in_string } => {
                    let value = resolve(var, event, ctx);
                    match (self.json, *in_string) {
                        (true, false) => value.write_json(&mut out),
                        (true, true) => value.write_raw(&mut out),
                        (false, _) => value.write_text(&mut out),
                    }
                }
            }
        }
        if self.json {
            match serde_json::from_str::<Value>(&out) {
                Ok(_) => Ok(minify(&out)),
                Err(e) => Err(RenderError::NotJson {
                    reason: e.to_string(),
                }),
            }
        } else {
            // Only the first value must parse; the rest is let through, as AWS does.
            match serde_json::Deserializer::from_str(&out)
                .into_iter::<Value>()
                .next()
            {
                Some(Ok(_)) => Ok(out),
                Some(Err(e)) => Err(RenderError::NotJson {
                    reason: e.to_string(),
                }),
                None => Err(RenderError::NotJson {
                    reason: "the output is empty".to_owned(),
                }),
            }
        }
    }
}

/// The name of a placeholder whose `<` came just before `after`: the text up to the next
/// `>` on the same line.
fn placeholder_name(after: &str) -> Option<&str> {
    let end = after.find(['>', '\n'])?;
    after[end..].starts_with('>').then(|| &after[..end])
}

fn variable(name: &str, paths: &BTreeMap<&str, JsonPath>) -> Option<Var> {
    Some(match name {
        RULE_ARN => Var::RuleArn,
        RULE_NAME => Var::RuleName,
        INGESTION_TIME => Var::IngestionTime,
        EVENT => Var::Event,
        EVENT_JSON => Var::EventJson,
        _ => Var::Path(paths.get(name)?.clone()),
    })
}

/// A variable's value for one event.
enum Resolved<'e> {
    Missing,
    Str(&'e str),
    /// Compact JSON of anything but a string.
    Json(String),
}

fn resolve<'e>(var: &Var, event: &'e Value, ctx: &Context<'e>) -> Resolved<'e> {
    match var {
        Var::Path(path) => match path.select(event) {
            None => Resolved::Missing,
            Some(Selection::One(Value::String(text))) => Resolved::Str(text),
            Some(selection) => Resolved::Json(selection.to_json(event)),
        },
        Var::RuleArn => Resolved::Str(ctx.rule_arn),
        Var::RuleName => Resolved::Str(ctx.rule_name),
        Var::IngestionTime => Resolved::Str(ctx.ingestion_time),
        Var::Event => Resolved::Json(summary_json(event)),
        Var::EventJson => Resolved::Json(envelope_json(event)),
    }
}

impl Resolved<'_> {
    /// As a JSON value, in a JSON template outside string literals.
    fn write_json(&self, out: &mut String) {
        match self {
            Resolved::Missing => out.push_str("\"\""),
            Resolved::Str(text) => push_json_string(out, text),
            Resolved::Json(json) => out.push_str(json),
        }
    }

    /// Unescaped, inside a JSON template's string literal.
    fn write_raw(&self, out: &mut String) {
        match self {
            Resolved::Missing => {}
            Resolved::Str(text) => out.push_str(text),
            Resolved::Json(json) => out.push_str(json),
        }
    }

    /// Unescaped, in a text template, with objects' and arrays' quotes removed.
    fn write_text(&self, out: &mut String) {
        match self {
            Resolved::Missing => {}
            Resolved::Str(text) => out.push_str(text),
            Resolved::Json(json) => {
                let mut chars = json.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {}
                        '\\' => match chars.next() {
                            Some('"') => {}
                            Some(next) => {
                                out.push('\\');
                                out.push(next);
                            }
                            None => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
        }
    }
}

/// The event as EventBridge writes it: envelope fields first, in AWS's order.
fn envelope_json(event: &Value) -> String {
    match event.as_object() {
        Some(fields) => ordered_object(fields, &ENVELOPE_ORDER, &[]),
        None => event.to_string(),
    }
}

/// `aws.events.event`: the event without its detail.
fn summary_json(event: &Value) -> String {
    match event.as_object() {
        Some(fields) => ordered_object(fields, &SUMMARY_ORDER, &["detail"]),
        None => event.to_string(),
    }
}

/// Writes `order`'s fields first (under their written names), then every other field not
/// in `skip`.
fn ordered_object(fields: &Map<String, Value>, order: &[(&str, &str)], skip: &[&str]) -> String {
    let known = order
        .iter()
        .filter_map(|&(field, name)| fields.get(field).map(|value| (name, value)));
    let others = fields
        .iter()
        .filter(|(field, _)| {
            !order.iter().any(|&(known, _)| known == field.as_str())
                && !skip.contains(&field.as_str())
        })
        .map(|(field, value)| (field.as_str(), value));
    let mut out = String::from("{");
    for (i, (name, value)) in known.chain(others).enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, name);
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// Writes `text` as a JSON string literal, escaping as serde_json does.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Removes whitespace outside string literals from valid JSON text. Works on the text,
/// not on a parsed value, so key order and number spelling survive.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn at_most(limit: usize) -> String {
    format!("Member must have length less than or equal to {limit}")
}

const AT_LEAST_ONE: &str = "Member must have length greater than or equal to 1";
const KEY_PATTERN: &str = "Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+";

fn check_constraints(
    position: usize,
    input: Option<&str>,
    input_path: Option<&str>,
    transformer: Option<(&BTreeMap<String, String>, &str)>,
) -> Result<(), TransformError> {
    let mut found = Vec::new();
    let mut violation = |field: &str, value: Option<&str>, constraint: String| {
        found.push(Violation {
            field: format!("targets.{position}.member.{field}"),
            value: value.map(str::to_owned),
            constraint,
        });
    };
    if let Some(text) = input.filter(|text| utf16_len(text) > INPUT_CHARS_MAX) {
        violation("input", Some(text), at_most(INPUT_CHARS_MAX));
    }
    if let Some(text) = input_path.filter(|text| utf16_len(text) > PATH_CHARS_MAX) {
        violation("inputPath", Some(text), at_most(PATH_CHARS_MAX));
    }
    if let Some((paths, template)) = transformer {
        let template_len = utf16_len(template);
        if template_len < 1 {
            let field = "inputTransformer.inputTemplate";
            violation(field, Some(template), AT_LEAST_ONE.to_owned());
        } else if template_len > TEMPLATE_CHARS_MAX {
            let field = "inputTransformer.inputTemplate";
            violation(field, Some(template), at_most(TEMPLATE_CHARS_MAX));
        }
        let field = "inputTransformer.inputPathsMap";
        if paths.len() > PATHS_MAP_ENTRIES_MAX {
            violation(field, None, at_most(PATHS_MAP_ENTRIES_MAX));
        }
        // AWS reports the constraints a key breaks once for the whole map.
        let key_failures = paths
            .keys()
            .map(|key| key_failures(key))
            .find(|f| !f.is_empty());
        if let Some(failures) = key_failures {
            let constraint = format!(
                "Map keys must satisfy constraint: [{}]",
                failures.join(", ")
            );
            violation(field, None, constraint);
        }
        if paths.values().any(|path| utf16_len(path) > PATH_CHARS_MAX) {
            let constraint = format!(
                "Map value must satisfy constraint: [{}]",
                at_most(PATH_CHARS_MAX)
            );
            violation(field, None, constraint);
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(TransformError::Constraints(Violations(found)))
    }
}

fn key_failures(key: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let len = utf16_len(key);
    if len > PATHS_MAP_KEY_CHARS_MAX {
        failures.push(at_most(PATHS_MAP_KEY_CHARS_MAX));
    }
    if len < 1 {
        failures.push(AT_LEAST_ONE.to_owned());
    }
    let pattern_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !pattern_ok {
        failures.push(KEY_PATTERN.to_owned());
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CTX: Context<'static> = Context {
        rule_arn: "arn:aws:events:eu-west-1:123456789012:rule/orders",
        rule_name: "orders",
        ingestion_time: "2024-03-01T10:00:00Z",
    };

    /// The event every case renders. Its envelope is written out of order on purpose;
    /// `detail`'s keys are sorted so the expectations hold with or without serde_json's
    /// `preserve_order`.
    fn event() -> Value {
        json!({
            "detail": {
                "a/b": "slash",
                "customer": {"name": "Ana", "tier": "gold"},
                "gift": true,
                "items": [{"qty": 2, "sku": "A1"}, {"qty": 1, "sku": "B2"}],
                "note": null,
                "order": "o-17",
                "quote": "say \"hi\"",
                "status": "PAID",
                "tags": ["new", "vip"],
                "total": 42.5
            },
            "resources": ["arn:aws:shop:eu-west-1:123456789012:order/o-17"],
            "region": "eu-west-1",
            "time": "2024-03-01T09:59:58Z",
            "account": "123456789012",
            "source": "shop.orders",
            "detail-type": "Order Placed",
            "id": "6f1c0a52-0000-4000-8000-000000000017",
            "version": "0"
        })
    }

    const EVENT_JSON: &str = concat!(
        r#"{"version":"0","id":"6f1c0a52-0000-4000-8000-000000000017","#,
        r#""detail-type":"Order Placed","source":"shop.orders","account":"123456789012","#,
        r#""time":"2024-03-01T09:59:58Z","region":"eu-west-1","#,
        r#""resources":["arn:aws:shop:eu-west-1:123456789012:order/o-17"],"#,
        r#""detail":{"a/b":"slash","customer":{"name":"Ana","tier":"gold"},"gift":true,"#,
        r#""items":[{"qty":2,"sku":"A1"},{"qty":1,"sku":"B2"}],"note":null,"order":"o-17","#,
        r#""quote":"say \"hi\"","status":"PAID","tags":["new","vip"],"total":42.5}}"#,
    );

    const SUMMARY_JSON: &str = concat!(
        r#"{"id":"6f1c0a52-0000-4000-8000-000000000017","account":"123456789012","#,
        r#""detailType":"Order Placed","time":"2024-03-01T09:59:58Z","source":"shop.orders","#,
        r#""region":"eu-west-1","resources":["arn:aws:shop:eu-west-1:123456789012:order/o-17"],"#,
        r#""version":"0"}"#,
    );

    /// The variables most template cases use.
    const VARS: &[(&str, &str)] = &[
        ("order", "$.detail.order"),
        ("status", "$.detail.status"),
        ("total", "$.detail.total"),
        ("gift", "$.detail.gift"),
        ("note", "$.detail.note"),
        ("customer", "$.detail.customer"),
        ("tags", "$.detail.tags"),
        ("quote", "$.detail.quote"),
        ("skus", "$.detail.items[*].sku"),
        ("missing", "$.detail.nothing.here"),
    ];

    /// A target's input fields as PutTargets receives them.
    #[derive(Debug, Default)]
    struct Spec {
        input: Option<String>,
        input_path: Option<String>,
        transformer: Option<(Vec<(String, String)>, String)>,
    }

    fn event_spec() -> Spec {
        Spec::default()
    }

    fn constant(text: &str) -> Spec {
        Spec {
            input: Some(text.to_owned()),
            ..Spec::default()
        }
    }

    fn path(text: &str) -> Spec {
        Spec {
            input_path: Some(text.to_owned()),
            ..Spec::default()
        }
    }

    fn transform(vars: &[(&str, &str)], template: &str) -> Spec {
        let vars = vars
            .iter()
            .map(|&(key, path)| (key.to_owned(), path.to_owned()))
            .collect();
        Spec {
            transformer: Some((vars, template.to_owned())),
            ..Spec::default()
        }
    }

    fn template(template: &str) -> Spec {
        transform(VARS, template)
    }

    #[derive(Debug, PartialEq)]
    enum Expect {
        /// The target receives exactly this text.
        Sends(String),
        /// The event is not delivered; the render error's message starts with this.
        Drops(String),
        /// PutTargets fails with exactly this message.
        Rejects(String),
    }

    fn sends(text: &str) -> Expect {
        Expect::Sends(text.to_owned())
    }

    fn drops(message_start: &str) -> Expect {
        Expect::Drops(message_start.to_owned())
    }

    fn rejects(message: &str) -> Expect {
        Expect::Rejects(message.to_owned())
    }

    fn check(spec: Spec, expected: Expect) {
        let vars: BTreeMap<String, String> = spec
            .transformer
            .iter()
            .flat_map(|(vars, _)| vars.iter().cloned())
            .collect();
        let target = TargetRef {
            id: "t1",
            position: 1,
        };
        let checked = target_input(
            target,
            spec.input.as_deref(),
            spec.input_path.as_deref(),
            spec.transformer
                .as_ref()
                .map(|(_, template)| (&vars, template.as_str())),
        );
        let got = match checked {
            Err(e) => Expect::Rejects(e.to_string()),
            Ok(input) => match input.render(&event(), &CTX) {
                Ok(text) => Expect::Sends(text),
                Err(e) => Expect::Drops(e.to_string()),
            },
        };
        match (&got, &expected) {
            (Expect::Drops(message), Expect::Drops(start))
                if message.starts_with(start.as_str()) => {}
            _ => assert_eq!(got, expected, "for {spec:?}"),
        }
    }

    #[test]
    fn choosing_one_input() {
        let both = |input: bool, input_path: bool, transformer: bool| Spec {
            input: input.then(|| "{}".to_owned()),
            input_path: input_path.then(|| "$.detail".to_owned()),
            transformer: transformer.then(|| (Vec::new(), "\"x\"".to_owned())),
        };
        let only_one =
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1.";
        check(both(true, true, false), rejects(only_one));
        check(both(true, false, true), rejects(only_one));
        check(both(false, true, true), rejects(only_one));
        check(both(true, true, true), rejects(only_one));
        // An empty Input or InputPath is taken as unset.
        let empty_input = Spec {
            input: Some(String::new()),
            input_path: Some("$.detail.order".to_owned()),
            transformer: None,
        };
        check(empty_input, sends(r#""o-17""#));
        check(path(""), sends(EVENT_JSON));
        check(event_spec(), sends(EVENT_JSON));
    }

    #[test]
    fn constant_input() {
        let cases = [
            (constant(r#"{"fixed": [1, 2]}"#), sends(r#"{"fixed": [1, 2]}"#)),
            (constant(r#""just text""#), sends(r#""just text""#)),
            (constant("17"), sends("17")),
            (constant(" null "), sends(" null ")),
            (
                constant("{'a': 1}"),
                rejects("JSON syntax error in input for target t1: key must be a string at line 1 column 2"),
            ),
            (
                constant("plain words"),
                rejects("JSON syntax error in input for target t1: expected value at line 1 column 1"),
            ),
            (
                constant(r#"{"a": 1} {"b": 2}"#),
                rejects("JSON syntax error in input for target t1: trailing characters at line 1 column 10"),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
    }

    #[test]
    fn input_path() {
        let cases = [
            (path("$"), sends(EVENT_JSON)),
            (
                path("$.detail.customer"),
                sends(r#"{"name":"Ana","tier":"gold"}"#),
            ),
            (path("$.detail.status"), sends(r#""PAID""#)),
            (path("$.detail.total"), sends("42.5")),
            (path("$.detail.gift"), sends("true")),
            (path("$.detail.note"), sends("null")),
            (path("$.detail-type"), sends(r#""Order Placed""#)),
            (path("$.detail.a/b"), sends(r#""slash""#)),
            (
                path("$.resources[0]"),
                sends(r#""arn:aws:shop:eu-west-1:123456789012:order/o-17""#),
            ),
            (path("$.detail.items[1].sku"), sends(r#""B2""#)),
            (path("$.detail.items[-1].qty"), sends("1")),
            (path("$.detail.items[*].sku"), sends(r#"["A1","B2"]"#)),
            (path("$.detail.items.*.qty"), sends("[2,1]")),
            (path("$.detail.customer.*"), sends(r#"["Ana","gold"]"#)),
            (path("$.detail.items[*].colour"), sends("[]")),
            (
                path("$.detail.nothing"),
                drops("InputPath $.detail.nothing selects nothing"),
            ),
            (
                path("$.detail.tags[2]"),
                drops("InputPath $.detail.tags[2] selects nothing"),
            ),
            (
                path("$.detail.status.deeper"),
                drops("InputPath $.detail.status.deeper selects"),
            ),
            (
                path("$.detail[0]"),
                drops("InputPath $.detail[0] selects nothing"),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
    }

    #[test]
    fn invalid_paths() {
        let invalid = "InputPath for target t1 is invalid.";
        for bad in [
            "detail",
            "detail.status",
            "$detail",
            "$.",
            "$.detail.",
            "$..status",
            "$.detail['status']",
            "$[\"detail\"]",
            "$.detail[",
            "$.detail[x]",
            "$.detail[1:2]",
            "$.detail[0,1]",
            "$.detail[?(@.qty)]",
            "$.detail.*status",
            "$.detail status",
        ] {
            check(path(bad), rejects(invalid));
            check(transform(&[("v", bad)], "\"<v>\""), rejects(invalid));
        }
    }

    #[test]
    fn placeholders_are_checked() {
        let cases = [
            (
                template("\"order <order> is <unknown>\""),
                rejects("InputTemplate for target t1 contains invalid placeholder unknown."),
            ),
            (
                template(r#"{"html": "<b>bold</b>"}"#),
                rejects("InputTemplate for target t1 contains invalid placeholder b."),
            ),
            (
                template("\"<AWS.events.rule-name>\""),
                rejects("InputTemplate for target t1 contains invalid placeholder AWS.events.rule-name."),
            ),
            (
                template("\"<>\""),
                rejects("InputTemplate for target t1 contains invalid placeholder ."),
            ),
            (
                template("\"a <order b\" > c\""),
                rejects("InputTemplate for target t1 contains invalid placeholder order b\" ."),
            ),
            // A `<` always opens a placeholder when a `>` follows on its line...
            (
                template("\"1 < 2 for <order>\""),
                rejects("InputTemplate for target t1 contains invalid placeholder  2 for <order."),
            ),
            // ...and is plain text when none does.
            (template("\"1 < 2 for\""), sends(r#""1 < 2 for""#)),
            (template("\"a < b\"\n\"c > d\""), sends("\"a < b\"\n\"c > d\"")),
            // Predefined variables need no map entry; unused map entries are fine.
            (
                transform(&[], "\"<aws.events.rule-name> fired\""),
                sends(r#""orders fired""#),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
    }

    #[test]
    fn text_templates() {
        let cases = [
            (
                template("\"order <order> is <status>\""),
                sends(r#""order o-17 is PAID""#),
            ),
            // The template's escapes stay as written.
            (
                template(r#""order \"<order>\" is <status>""#),
                sends(r#""order \"o-17\" is PAID""#),
            ),
            (
                template("\"up to here: <missing>!\""),
                sends(r#""up to here: !""#),
            ),
            (
                template("\"total <total>, gift <gift>, note <note>\""),
                sends(r#""total 42.5, gift true, note null""#),
            ),
            // Objects and arrays lose their quotes.
            (
                template("\"customer <customer> tags <tags> skus <skus>\""),
                sends(r#""customer {name:Ana,tier:gold} tags [new,vip] skus [A1,B2]""#),
            ),
            (
                template("\"<order> twice: users/<order>/again/<order>\""),
                sends(r#""o-17 twice: users/o-17/again/o-17""#),
            ),
            (
                template("\"{[/ starts like JSON but is a string for <order>\""),
                sends(r#""{[/ starts like JSON but is a string for o-17""#),
            ),
            // Values are not escaped; only the leading value must parse.
            (
                template("\"quote: <quote>\""),
                sends(r#""quote: say "hi"""#),
            ),
            (
                template("\"<status> first\"\n\"<order> second\""),
                sends("\"PAID first\"\n\"o-17 second\""),
            ),
            (
                template("  \"padded <order>\"  "),
                sends(r#"  "padded o-17"  "#),
            ),
            (template("<total>"), sends("42.5")),
            // For strings, quotes are required.
            (
                template("order <order> is <status>"),
                drops("transformed input is not valid JSON"),
            ),
            (
                template("<tags> tagged"),
                drops("transformed input is not valid JSON"),
            ),
            (
                template("<missing>"),
                drops("transformed input is not valid JSON: the output is empty"),
            ),
            (
                template("[<order>, <status>]"),
                drops("transformed input is not valid JSON"),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
    }

    #[test]
    fn json_templates() {
        let cases = [
            (
                template(r#"{"order": <order>, "status": <status>}"#),
                sends(r#"{"order":"o-17","status":"PAID"}"#),
            ),
            (
                template(r#"{"order" : <order>, "flags": [ 9, <status>, true ], "fixed" : "yes"}"#),
                sends(r#"{"order":"o-17","flags":[9,"PAID",true],"fixed":"yes"}"#),
            ),
            (
                template(r#"{"msg": "order \"<order>\" is <status>", "status": "<status>"}"#),
                sends(r#"{"msg":"order \"o-17\" is PAID","status":"PAID"}"#),
            ),
            (
                template(
                    r#"{"c": <customer>, "t": <tags>, "n": <total>, "g": <gift>, "x": <note>}"#,
                ),
                sends(
                    r#"{"c":{"name":"Ana","tier":"gold"},"t":["new","vip"],"n":42.5,"g":true,"x":null}"#,
                ),
            ),
            (
                template(r#"{"skus": <skus>}"#),
                sends(r#"{"skus":["A1","B2"]}"#),
            ),
            (
                template(r#"{"s": "total=<total> gift=<gift> note=<note>"}"#),
                sends(r#"{"s":"total=42.5 gift=true note=null"}"#),
            ),
            (template(r#"{"m": <missing>}"#), sends(r#"{"m":""}"#)),
            (template(r#"{"m": "[<missing>]"}"#), sends(r#"{"m":"[]"}"#)),
            // Outside strings a value is escaped; inside it is not.
            (
                template(r#"{"q": <quote>}"#),
                sends(r#"{"q":"say \"hi\""}"#),
            ),
            (
                template(r#"{"q": "<quote>"}"#),
                drops("transformed input is not valid JSON"),
            ),
            // Objects and arrays cannot sit inside a string.
            (
                template(r#"{"c": "<customer>"}"#),
                drops("transformed input is not valid JSON"),
            ),
            (
                template(r#"{"t": "tags: <tags>"}"#),
                drops("transformed input is not valid JSON"),
            ),
            (
                template(r#"{"path": "users/<customer>", "body": <customer>}"#),
                drops("transformed input is not valid JSON"),
            ),
            (
                template(r#"{"p": "users/<order>/again/<order>"}"#),
                sends(r#"{"p":"users/o-17/again/o-17"}"#),
            ),
            (
                template(r#"{"l1": {"l2": ["x", "<status>"]}, "b": "<order>"}"#),
                sends(r#"{"l1":{"l2":["x","PAID"]},"b":"o-17"}"#),
            ),
            // Minified: whitespace outside strings goes, whitespace inside stays.
            (
                template(
                    "\n  {\n    \"a\" :\t<order>,\n    \"b\": \"two  spaces <status>\"\n  }\n",
                ),
                sends(r#"{"a":"o-17","b":"two  spaces PAID"}"#),
            ),
            // Escapes in the template, an escaped backslash before a closing quote.
            (
                template(r#"{"a": "tab\tthen <order>", "b": "\\", "c": <status>}"#),
                sends(r#"{"a":"tab\tthen o-17","b":"\\","c":"PAID"}"#),
            ),
            (
                template(r#"{"a": <order>} and more"#),
                drops("transformed input is not valid JSON"),
            ),
            (
                template(r#"{"a": <order>"#),
                drops("transformed input is not valid JSON"),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
    }

    #[test]
    fn predefined_variables() {
        let full = format!(r#"{{"full":{EVENT_JSON}}}"#);
        let both =
            format!(r#"{{"originalEvent":{SUMMARY_JSON},"originalEventJson":{EVENT_JSON}}}"#);
        let cases = [
            (
                transform(&[], "\"<aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>\""),
                sends(r#""arn:aws:events:eu-west-1:123456789012:rule/orders orders 2024-03-01T10:00:00Z""#),
            ),
            (
                transform(
                    &[("order", "$.detail.order")],
                    r#"{"order": <order>, "ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "at": <aws.events.event.ingestion-time>}"#,
                ),
                sends(r#"{"order":"o-17","ruleArn":"arn:aws:events:eu-west-1:123456789012:rule/orders","ruleName":"orders","at":"2024-03-01T10:00:00Z"}"#),
            ),
            (
                transform(&[], r#"{"rule": "<aws.events.rule-name> fired"}"#),
                sends(r#"{"rule":"orders fired"}"#),
            ),
            (transform(&[], r#"{"full": <aws.events.event.json>}"#), Expect::Sends(full)),
            (
                transform(&[], r#"{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}"#),
                Expect::Sends(both),
            ),
            // The event holds quotes, so it cannot sit inside a JSON string.
            (
                transform(&[], r#"{"e": "<aws.events.event.json>"}"#),
                drops("transformed input is not valid JSON"),
            ),
            // In a text template the event loses its quotes like any object.
            (
                transform(&[], "<aws.events.event.json>"),
                drops("transformed input is not valid JSON"),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
    }

    #[test]
    fn model_constraints() {
        let long_input = format!("\"{}\"", "x".repeat(INPUT_CHARS_MAX - 1));
        let long_path = format!("$.{}", "p".repeat(PATH_CHARS_MAX - 1));
        let long_template = format!("\"{}\"", "t".repeat(TEMPLATE_CHARS_MAX - 1));
        let long_key = "k".repeat(PATHS_MAP_KEY_CHARS_MAX + 1);
        let at = "targets.1.member";
        let map = "targets.1.member.inputTransformer.inputPathsMap";
        let key_pattern = "Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+";
        let many: Vec<(String, &str)> = (0..=PATHS_MAP_ENTRIES_MAX)
            .map(|i| (format!("v{i}"), "$.detail"))
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let cases = [
            (
                constant(&long_input),
                Expect::Rejects(format!(
                    "1 validation error detected: Value '{long_input}' at '{at}.input' failed to satisfy constraint: Member must have length less than or equal to 8192"
                )),
            ),
            (
                path(&long_path),
                Expect::Rejects(format!(
                    "1 validation error detected: Value '{long_path}' at '{at}.inputPath' failed to satisfy constraint: Member must have length less than or equal to 256"
                )),
            ),
            (
                transform(&[], ""),
                Expect::Rejects(format!(
                    "1 validation error detected: Value '' at '{at}.inputTransformer.inputTemplate' failed to satisfy constraint: Member must have length greater than or equal to 1"
                )),
            ),
            (
                transform(&[], &long_template),
                Expect::Rejects(format!(
                    "1 validation error detected: Value '{long_template}' at '{at}.inputTransformer.inputTemplate' failed to satisfy constraint: Member must have length less than or equal to 8192"
                )),
            ),
            (
                transform(&many, "\"x\""),
                Expect::Rejects(format!(
                    "1 validation error detected: Value at '{map}' failed to satisfy constraint: Member must have length less than or equal to 100"
                )),
            ),
            (
                transform(&[("aws.events.rule-name", "$.detail.order")], "\"<aws.events.rule-name>\""),
                Expect::Rejects(format!(
                    "1 validation error detected: Value at '{map}' failed to satisfy constraint: Map keys must satisfy constraint: [{key_pattern}]"
                )),
            ),
            (
                transform(&[("", "$.detail.order")], "\"x\""),
                Expect::Rejects(format!(
                    "1 validation error detected: Value at '{map}' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length greater than or equal to 1, {key_pattern}]"
                )),
            ),
            (
                transform(&[(long_key.as_str(), "$.detail.order")], "\"x\""),
                Expect::Rejects(format!(
                    "1 validation error detected: Value at '{map}' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 256]"
                )),
            ),
            (
                transform(&[("v", long_path.as_str()), ("ümlaut", "$.detail")], "\"x\""),
                Expect::Rejects(format!(
                    "2 validation errors detected: Value at '{map}' failed to satisfy constraint: Map keys must satisfy constraint: [{key_pattern}]; Value at '{map}' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 256]"
                )),
            ),
        ];
        for (spec, expected) in cases {
            check(spec, expected);
        }
        // Limits are inclusive, and count UTF-16 code units: "😀" is two.
        check(
            constant(&format!("\"{}\"", "x".repeat(INPUT_CHARS_MAX - 2))),
            Expect::Sends(format!("\"{}\"", "x".repeat(INPUT_CHARS_MAX - 2))),
        );
        let emoji_input = format!("\"{}\"", "😀".repeat(INPUT_CHARS_MAX / 2));
        assert!(matches!(
            target_input(
                TargetRef {
                    id: "t1",
                    position: 1
                },
                Some(&emoji_input),
                None,
                None
            ),
            Err(TransformError::Constraints(_))
        ));
        let within: Vec<(String, &str)> = (0..PATHS_MAP_ENTRIES_MAX)
            .map(|i| (format!("v{i}"), "$.detail.order"))
            .collect();
        let within: Vec<(&str, &str)> = within.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        check(transform(&within, "\"<v99>\""), sends(r#""o-17""#));
    }

    #[test]
    fn errors_name_the_target_by_id_and_position() {
        let target = TargetRef {
            id: "sqs-2",
            position: 3,
        };
        let e = target_input(target, Some("{"), Some("$.a"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only one of Input, InputPath, or InputTransformer must be provided for target sqs-2."
        );
        assert_eq!(e.aws_code(), "ValidationException");
        let long = "$".repeat(PATH_CHARS_MAX + 1);
        let e = target_input(target, None, Some(&long), None).unwrap_err();
        assert!(
            e.to_string().contains("at 'targets.3.member.inputPath'"),
            "{e}"
        );
    }
}
