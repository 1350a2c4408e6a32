//! Runs the crate against a directory of AWS-validated pattern cases.
//!
//! Usage: `cargo run -p pattern --example conformance -- [--dump <file>] <templates-dir> [snapshot.json]`
//!
//! The cases live outside this repository, in LocalStack's test suite
//! (github.com/localstack/localstack), recorded against AWS:
//! `tests/aws/services/events/event_pattern_templates/` is the directory and
//! `tests/aws/services/events/test_events_patterns.snapshot.json` the snapshot.
//! For example:
//!
//! ```text
//! git clone --depth 1 https://github.com/localstack/localstack /tmp/localstack
//! cargo run -p pattern --example conformance -- \
//!     /tmp/localstack/tests/aws/services/events/event_pattern_templates \
//!     /tmp/localstack/tests/aws/services/events/test_events_patterns.snapshot.json
//! ```
//!
//! `<templates-dir>` holds JSON5 files, each an object with an `Event` and an
//! `EventPattern`. A file name ending in `_NEG` means AWS did not match, `_EXC`
//! means AWS rejected the pattern, anything else means AWS matched. A pair
//! `<name>_event.json` / `<name>_event_pattern.json` is one more matching case.
//! The optional snapshot (recorded AWS responses, keyed by test id) supplies
//! the exact error messages for `_EXC` cases, and adds the invalid-JSON cases
//! whose pattern text is the test id's parameter. Messages are compared on
//! their first line; AWS appends the parser's source location after it.
//!
//! Prints every failure, then the pass count and rate.
//!
//! With `--dump <file>` it also writes every case as one JSON object per line,
//! `{"name", "pattern", "event", "expect", "message"}`, for tools that send the
//! same cases through Eddy's HTTP API (`scripts/conformance_events.py`).
//! `pattern` is the text handed to the parser, `event` the event serialized
//! from its parsed value, `expect` one of `match`, `no-match` and `error`, and
//! `message` the first line of AWS's error message (null when not an error or
//! not recorded).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use pattern::Pattern;
use serde_json::Value;

enum Expect {
    Match(bool),
    /// An error, with AWS's message when known.
    Error(Option<String>),
}

struct Case {
    name: String,
    pattern: String,
    event: Value,
    expect: Expect,
}

const USAGE: &str = "usage: conformance [--dump <file>] <templates-dir> [snapshot.json]";

fn main() -> ExitCode {
    let mut dump = None;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--dump" {
            let Some(path) = args.next() else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            dump = Some(path);
        } else {
            positional.push(arg);
        }
    }
    let (Some(dir), snapshot, None) = (positional.first(), positional.get(1), positional.get(2))
    else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let messages = match snapshot {
        Some(path) => match load_snapshot(Path::new(path)) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("cannot read snapshot {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => Snapshot::default(),
    };
    let mut cases = match load_templates(Path::new(dir), &messages) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read templates in {dir}: {e}");
            return ExitCode::from(2);
        }
    };
    cases.extend(messages.invalid_json.iter().map(|(pattern, message)| Case {
        name: format!("invalid-json[{pattern}]"),
        pattern: pattern.clone(),
        // The event the recorded run sent with these patterns; TestEventPattern
        // rejects events without these envelope fields.
        event: serde_json::json!({
            "id": "1",
            "source": "test-source",
            "detail-type": "test-detail-type",
            "account": "123456789012",
            "region": "us-east-2",
            "time": "2022-07-13T13:48:01Z",
            "detail": {"test": "test"},
        }),
        expect: Expect::Error(Some(message.clone())),
    }));
    if let Some(path) = &dump {
        if let Err(e) = write_dump(Path::new(path), &cases) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::from(2);
        }
    }

    let (mut passed, mut match_total, mut match_passed, mut error_total, mut error_passed) =
        (0, 0, 0, 0, 0);
    for case in &cases {
        let outcome = Pattern::parse(&case.pattern).map(|p| p.matches(&case.event));
        let failure = match (&case.expect, &outcome) {
            (Expect::Match(want), Ok(got)) if want == got => None,
            (Expect::Match(want), Ok(got)) => {
                Some(format!("expected match={want}, got match={got}"))
            }
            (Expect::Match(want), Err(e)) => Some(format!("expected match={want}, got error: {e}")),
            (Expect::Error(_), Ok(got)) => Some(format!("expected an error, got match={got}")),
            (Expect::Error(None), Err(_)) => None,
            (Expect::Error(Some(want)), Err(e)) => {
                let got = e.to_string();
                let want_first = want.lines().next().unwrap_or_default();
                (got.lines().next() != Some(want_first))
                    .then(|| format!("expected error: {want_first}\n       got error:      {got}"))
            }
        };
        match case.expect {
            Expect::Match(_) => match_total += 1,
            Expect::Error(_) => error_total += 1,
        }
        match failure {
            None => {
                passed += 1;
                match case.expect {
                    Expect::Match(_) => match_passed += 1,
                    Expect::Error(_) => error_passed += 1,
                }
            }
            Some(why) => println!(
                "FAIL {}\n  pattern: {}\n  {why}",
                case.name,
                one_line(&case.pattern)
            ),
        }
    }
    let total = cases.len();
    let rate = if total == 0 {
        0.0
    } else {
        100.0 * passed as f64 / total as f64
    };
    println!("match cases: {match_passed}/{match_total} passed");
    println!("error cases: {error_passed}/{error_total} passed");
    println!("passed {passed}/{total} ({rate:.1}%)");
    if passed == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes the cases as JSON lines; see the module doc for the fields.
fn write_dump(path: &Path, cases: &[Case]) -> std::io::Result<()> {
    let mut out = String::new();
    for case in cases {
        let (expect, message) = match &case.expect {
            Expect::Match(true) => ("match", None),
            Expect::Match(false) => ("no-match", None),
            Expect::Error(message) => ("error", message.as_deref()),
        };
        let line = serde_json::json!({
            "name": case.name,
            "pattern": case.pattern,
            "event": case.event.to_string(),
            "expect": expect,
            "message": message.map(|m| m.lines().next().unwrap_or_default()),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    std::fs::write(path, out)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct Snapshot {
    /// Template name to AWS's error message.
    by_template: BTreeMap<String, String>,
    /// Invalid pattern text to AWS's error message.
    invalid_json: BTreeMap<String, String>,
}

fn load_snapshot(path: &Path) -> Result<Snapshot, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let root: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut snapshot = Snapshot::default();
    let Value::Object(tests) = root else {
        return Err("snapshot is not an object".into());
    };
    for (test_id, body) in tests {
        let Some(param) = test_id
            .split_once('[')
            .and_then(|(_, rest)| rest.strip_suffix(']'))
        else {
            continue;
        };
        let recorded = &body["recorded-content"];
        if test_id.contains("::test_event_pattern[") {
            let message = &recorded[param]["exception_message"]["Error"]["Message"];
            if let Some(m) = message.as_str() {
                snapshot
                    .by_template
                    .insert(param.to_string(), m.to_string());
            }
        } else if test_id.contains("::test_invalid_json_event_pattern[") {
            if let Some(m) = recorded["invalid-pattern"]["Error"]["Message"].as_str() {
                snapshot
                    .invalid_json
                    .insert(param.to_string(), m.to_string());
            }
        }
    }
    Ok(snapshot)
}

fn load_templates(dir: &Path, snapshot: &Snapshot) -> Result<Vec<Case>, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut cases = Vec::new();
    for name in &names {
        let path = dir.join(name);
        if let Some(label) = name.strip_suffix(".json5") {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
            let json = strip_json5(&text);
            let members =
                top_level_members(&json).ok_or_else(|| format!("{name}: not an object"))?;
            let (Some(event), Some(pattern)) = (members.get("Event"), members.get("EventPattern"))
            else {
                return Err(format!("{name}: missing Event or EventPattern"));
            };
            let event: Value =
                serde_json::from_str(event).map_err(|e| format!("{name}: event: {e}"))?;
            let expect = if label.ends_with("_EXC") {
                Expect::Error(snapshot.by_template.get(label).cloned())
            } else {
                Expect::Match(!label.ends_with("_NEG"))
            };
            cases.push(Case {
                name: label.to_string(),
                pattern: pattern.to_string(),
                event,
                expect,
            });
        } else if let Some(stem) = name.strip_suffix("_event_pattern.json") {
            let pattern = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
            let event_path = dir.join(format!("{stem}_event.json"));
            let event_text = std::fs::read_to_string(&event_path)
                .map_err(|e| format!("{stem}_event.json: {e}"))?;
            let event: Value =
                serde_json::from_str(&event_text).map_err(|e| format!("{stem}_event.json: {e}"))?;
            cases.push(Case {
                name: stem.to_string(),
                pattern,
                event,
                expect: Expect::Match(true),
            });
        }
    }
    Ok(cases)
}

/// Turns the JSON5 used by the cases into JSON: drops comments and trailing
/// commas, leaving strings untouched.
fn strip_json5(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                // JSON5 also allows single quotes; emit a JSON string.
                let quote = c;
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i]);
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    if chars[i] == '"' {
                        out.push('\\');
                    }
                    out.push(chars[i]);
                    i += 1;
                }
                out.push('"');
                i += 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            ',' => {
                // Drop the comma if only whitespace and comments lead to a closer.
                let mut j = i + 1;
                loop {
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'/') {
                        while j < chars.len() && chars[j] != '\n' {
                            j += 1;
                        }
                    } else if chars.get(j) == Some(&'/') && chars.get(j + 1) == Some(&'*') {
                        j += 2;
                        while j + 1 < chars.len() && !(chars[j] == '*' && chars[j + 1] == '/') {
                            j += 1;
                        }
                        j += 2;
                    } else {
                        break;
                    }
                }
                if !matches!(chars.get(j), Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The raw text of each member of the top-level object, so patterns reach the
/// parser exactly as written (key order and number spelling preserved).
fn top_level_members(json: &str) -> Option<BTreeMap<String, &str>> {
    let bytes = json.as_bytes();
    let mut i = json.find('{')? + 1;
    let mut members = BTreeMap::new();
    loop {
        i = skip_ws(bytes, i);
        match bytes.get(i)? {
            b'}' => return Some(members),
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(bytes, i)?;
        let key: String = serde_json::from_str(&json[i..key_end]).ok()?;
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(bytes, i + 1);
        let end = value_end(bytes, i)?;
        members.insert(key, &json[i..end]);
        i = end;
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Index just past the string starting at `i`.
fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Index just past the value starting at `i`.
fn value_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i)?;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    Some(i)
}
