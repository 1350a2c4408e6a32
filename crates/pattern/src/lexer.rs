//! A pull tokenizer for pattern JSON.
//!
//! Patterns are compiled straight from tokens (not from a parsed tree) because
//! AWS validates them that way: the first problem in document order wins, even
//! when the text is malformed further on, and number literals keep their text.
//! Syntax errors are worded like the JSON parser behind EventBridge, so the
//! reasons in `InvalidEventPatternException` agree with AWS for common mistakes.

/// Deeper documents are rejected instead of risking the stack.
const NESTING_DEPTH_MAX: usize = 1000;

/// Error texts quote at most this much of the offending token or source.
const TOKEN_IN_ERROR_CHARS_MAX: usize = 256;
const SOURCE_IN_ERROR_CHARS_MAX: usize = 500;

/// Part of the message for a value that cannot start.
const VALID_VALUES: &str =
    "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    StartObject,
    EndObject,
    StartArray,
    EndArray,
    Field(String),
    Str(String),
    /// The literal as written, e.g. `3.018e2`.
    Num(String),
    True,
    False,
    Null,
}

impl Token {
    /// The token's text as the reference parser reports it inside messages.
    pub(crate) fn text(&self) -> &str {
        match self {
            Token::StartObject => "{",
            Token::EndObject => "}",
            Token::StartArray => "[",
            Token::EndArray => "]",
            Token::Field(s) | Token::Str(s) | Token::Num(s) => s,
            Token::True => "true",
            Token::False => "false",
            Token::Null => "null",
        }
    }
}

/// What the grammar allows at the current position.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    RootValue,
    ObjectNameOrEnd,
    ObjectName,
    ObjectValue,
    ObjectCommaOrEnd,
    ArrayValueOrEnd,
    ArrayValue,
    ArrayCommaOrEnd,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    is_object: bool,
    line: usize,
    column: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    state: State,
    stack: Vec<Frame>,
    /// A member's scalar value, read together with its name.
    pending: Option<Token>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer {
            src,
            pos: 0,
            state: State::RootValue,
            stack: Vec::new(),
            pending: None,
        }
    }

    /// The next token; `None` at the end of the input outside any container.
    /// Errors are AWS's reason texts.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token>, String> {
        if let Some(token) = self.pending.take() {
            return Ok(Some(token));
        }
        loop {
            self.skip_whitespace();
            let Some(c) = self.peek() else {
                return match self.state {
                    State::RootValue => Ok(None),
                    _ => Err(self.eof_in_container()),
                };
            };
            match self.state {
                State::ObjectNameOrEnd | State::ObjectName => {
                    if c == '}' && self.state == State::ObjectNameOrEnd {
                        self.pos += 1;
                        return Ok(Some(self.close()));
                    }
                    if c != '"' {
                        return Err(unexpected(
                            c,
                            "was expecting double-quote to start field name",
                        ));
                    }
                    let name = self.string(true)?;
                    self.skip_whitespace();
                    match self.peek() {
                        None => return Err(self.eof_in_container()),
                        Some(':') => self.pos += 1,
                        Some(other) => {
                            return Err(unexpected(
                                other,
                                "was expecting a colon to separate field name and value",
                            ))
                        }
                    }
                    self.state = State::ObjectValue;
                    // AWS's parser reads a scalar value along with its name,
                    // so a malformed value is reported before the name is
                    // judged; strings and containers are read later.
                    self.skip_whitespace();
                    match self.peek() {
                        None => return Err(self.eof_in_container()),
                        Some('"' | '{' | '[') => {}
                        Some(c) => self.pending = Some(self.value(c)?),
                    }
                    return Ok(Some(Token::Field(name)));
                }
                State::ObjectCommaOrEnd | State::ArrayCommaOrEnd => {
                    let object = self.state == State::ObjectCommaOrEnd;
                    let close = if object { '}' } else { ']' };
                    if c == close {
                        self.pos += 1;
                        return Ok(Some(self.close()));
                    }
                    if c != ',' {
                        let what = if object {
                            "was expecting comma to separate Object entries"
                        } else {
                            "was expecting comma to separate Array entries"
                        };
                        return Err(unexpected(c, what));
                    }
                    self.pos += 1;
                    self.state = if object {
                        State::ObjectName
                    } else {
                        State::ArrayValue
                    };
                    // Loop for the element after the comma.
                }
                State::ArrayValueOrEnd if c == ']' => {
                    self.pos += 1;
                    return Ok(Some(self.close()));
                }
                State::RootValue
                | State::ObjectValue
                | State::ArrayValue
                | State::ArrayValueOrEnd => {
                    return self.value(c).map(Some);
                }
            }
        }
    }

    fn value(&mut self, c: char) -> Result<Token, String> {
        match c {
            '{' | '[' => {
                if self.stack.len() >= NESTING_DEPTH_MAX {
                    return Err(format!(
                        "Document nesting depth ({}) exceeds the maximum allowed ({NESTING_DEPTH_MAX}, from `StreamReadConstraints.getMaxNestingDepth()`)",
                        self.stack.len() + 1
                    ));
                }
                let (line, column) = self.line_column(self.pos);
                self.pos += 1;
                let is_object = c == '{';
                self.stack.push(Frame {
                    is_object,
                    line,
                    column,
                });
                if is_object {
                    self.state = State::ObjectNameOrEnd;
                    Ok(Token::StartObject)
                } else {
                    self.state = State::ArrayValueOrEnd;
                    Ok(Token::StartArray)
                }
            }
            '"' => {
                let s = self.string(false)?;
                self.after_value();
                Ok(Token::Str(s))
            }
            '-' | '0'..='9' => {
                let n = self.number()?;
                self.after_value();
                Ok(Token::Num(n))
            }
            ']' | '}' | ',' => Err(unexpected(c, "expected a value")),
            c if is_identifier_start(c) => {
                let start = self.pos;
                let word_end = self.src[start..]
                    .char_indices()
                    .find(|&(_, ch)| !is_identifier_part(ch))
                    .map_or(self.src.len(), |(i, _)| start + i);
                let word = &self.src[start..word_end];
                let token = match word {
                    "true" => Token::True,
                    "false" => Token::False,
                    "null" => Token::Null,
                    _ => {
                        let shown: String = word.chars().take(TOKEN_IN_ERROR_CHARS_MAX).collect();
                        return Err(format!(
                            "Unrecognized token '{shown}': was expecting {VALID_VALUES}"
                        ));
                    }
                };
                self.pos = word_end;
                self.after_value();
                Ok(token)
            }
            _ => Err(unexpected(
                c,
                &format!("expected a valid value {VALID_VALUES}"),
            )),
        }
    }

    fn close(&mut self) -> Token {
        let frame = self.stack.pop();
        debug_assert!(frame.is_some(), "close without an open container");
        self.after_value();
        match frame {
            Some(Frame {
                is_object: true, ..
            }) => Token::EndObject,
            _ => Token::EndArray,
        }
    }

    fn after_value(&mut self) {
        self.state = match self.stack.last() {
            None => State::RootValue,
            Some(f) if f.is_object => State::ObjectCommaOrEnd,
            Some(_) => State::ArrayCommaOrEnd,
        };
    }

    /// Reads a string starting at the opening quote.
    fn string(&mut self, is_name: bool) -> Result<String, String> {
        debug_assert_eq!(self.peek(), Some('"'));
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.src[self.pos..];
            // Copy the plain run in one go; only quotes, escapes and control
            // characters need attention.
            let plain = rest
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(rest.len());
            out.push_str(&rest[..plain]);
            self.pos += plain;
            let Some(c) = self.peek() else {
                return Err(if is_name {
                    "Unexpected end-of-input in field name".to_string()
                } else {
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                        .to_string()
                });
            };
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.escape()?),
                _ => {
                    let place = if is_name { "name" } else { "string value" };
                    return Err(format!(
                        "Illegal unquoted character ({}): has to be escaped using backslash to be included in {place}",
                        char_description(c)
                    ));
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, String> {
        let Some(c) = self.peek() else {
            return Err("Unexpected end-of-input in character escape sequence".to_string());
        };
        self.pos += c.len_utf8();
        Ok(match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let unit = self.hex4()?;
                if (0xD800..0xDC00).contains(&unit) && self.src[self.pos..].starts_with("\\u") {
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.hex4()?;
                    if (0xDC00..0xE000).contains(&low) {
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    self.pos = save;
                }
                // Lone surrogates cannot live in a Rust string.
                char::from_u32(unit).unwrap_or('\u{FFFD}')
            }
            other => {
                return Err(format!(
                    "Unrecognized character escape {}",
                    char_description(other)
                ))
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut value = 0;
        for _ in 0..4 {
            let Some(c) = self.peek() else {
                return Err("Unexpected end-of-input in character escape sequence".to_string());
            };
            let Some(digit) = c.to_digit(16) else {
                return Err(unexpected(
                    c,
                    "expected a hex-digit for character escape sequence",
                ));
            };
            self.pos += 1;
            value = value * 16 + digit;
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<String, String> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
            match self.peek() {
                Some('0'..='9') => {}
                Some(c) => {
                    return Err(unexpected_in_number(
                        c,
                        "expected digit (0-9) to follow minus sign, for valid numeric value",
                    ))
                }
                None => return Err(eof_in_number()),
            }
        }
        if self.peek() == Some('0') && matches!(self.peek_at(1), Some('0'..='9')) {
            return Err("Invalid numeric value: Leading zeroes not allowed".to_string());
        }
        self.digits();
        if self.peek() == Some('.') {
            self.pos += 1;
            match self.peek() {
                Some('0'..='9') => self.digits(),
                Some(c) => {
                    return Err(unexpected_in_number(
                        c,
                        "Decimal point not followed by a digit",
                    ))
                }
                None => return Err(eof_in_number()),
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            match self.peek() {
                Some('0'..='9') => self.digits(),
                Some(c) => {
                    return Err(unexpected_in_number(
                        c,
                        "Exponent indicator not followed by a digit",
                    ))
                }
                None => return Err(eof_in_number()),
            }
        }
        Ok(self.src[start..self.pos].to_string())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some('0'..='9')) {
            self.pos += 1;
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(ahead)
    }

    fn eof_in_container(&self) -> String {
        let Some(frame) = self.stack.last() else {
            return "Unexpected end-of-input".to_string();
        };
        let kind = if frame.is_object { "Object" } else { "Array" };
        format!(
            "Unexpected end-of-input: expected close marker for {kind} (start marker at [Source: {}; line: {}, column: {}])",
            self.source_description(),
            frame.line,
            frame.column
        )
    }

    fn source_description(&self) -> String {
        let total = self.src.chars().count();
        if total <= SOURCE_IN_ERROR_CHARS_MAX {
            format!("(String)\"{}\"", self.src)
        } else {
            let head: String = self.src.chars().take(SOURCE_IN_ERROR_CHARS_MAX).collect();
            format!(
                "(String)\"{head}\"[truncated {} chars]",
                total - SOURCE_IN_ERROR_CHARS_MAX
            )
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

fn is_identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_identifier_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Describes a character the way the reference parser's messages do.
fn char_description(c: char) -> String {
    let code = c as u32;
    if c.is_control() {
        format!("(CTRL-CHAR, code {code})")
    } else if code > 255 {
        format!("'{c}' (code {code} / 0x{code:x})")
    } else {
        format!("'{c}' (code {code})")
    }
}

fn unexpected(c: char, what: &str) -> String {
    format!("Unexpected character ({}): {what}", char_description(c))
}

fn unexpected_in_number(c: char, what: &str) -> String {
    format!(
        "Unexpected character ({}) in numeric value: {what}",
        char_description(c)
    )
}

fn eof_in_number() -> String {
    "Unexpected end-of-input in numeric value".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokenizes the whole input and renders tokens compactly, or the error.
    fn check(src: &str, expected: &str) {
        let mut lexer = Lexer::new(src);
        let mut out = Vec::new();
        let rendered = loop {
            match lexer.next_token() {
                Ok(None) => break out.join(" "),
                Ok(Some(t)) => out.push(match t {
                    Token::Field(s) => format!("{s}:"),
                    Token::Str(s) => format!("{s:?}"),
                    other => other.text().to_string(),
                }),
                Err(e) => {
                    out.push(format!("ERR {e}"));
                    break out.join(" ");
                }
            }
        };
        assert_eq!(rendered, expected, "input: {src}");
    }

    #[test]
    fn tokens_and_errors() {
        check(
            r#"{"a": [1, -2.5e3, "x\n\u00e9", true, null, {}]}"#,
            r#"{ a: [ 1 -2.5e3 "x\né" true null { } ] }"#,
        );
        check("this is valid json but not a dict",
            "ERR Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
        check("{'bad': 'quotation'}",
            "{ ERR Unexpected character (''' (code 39)): was expecting double-quote to start field name");
        check(r#"{"not": closed mark""#,
            "{ ERR Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
        check(r#"{"a" 1}"#,
            "{ ERR Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value");
        check(r#"{"a": 1 "b": 2}"#,
            "{ a: 1 ERR Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries");
        check(
            "[1,]",
            "[ 1 ERR Unexpected character (']' (code 93)): expected a value",
        );
        check(
            r#"{"a": 01}"#,
            "{ ERR Invalid numeric value: Leading zeroes not allowed",
        );
        check(
            r#"{"a": "\q"}"#,
            "{ a: ERR Unrecognized character escape 'q' (code 113)",
        );
        check("{\"a\": [1",
            "{ a: [ 1 ERR Unexpected end-of-input: expected close marker for Array (start marker at [Source: (String)\"{\"a\": [1\"; line: 1, column: 7])");
        check("", "");
    }
}
