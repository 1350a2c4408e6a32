//! S3's XML bodies: a small writer for responses (escaping as S3 does, the S3 namespace
//! on the root), the `Error` document, and parsers for the request bodies the service
//! accepts, which turn anything malformed into S3's `MalformedXML`. Also the rules S3
//! applies to tags and to bucket notification configurations.

use crate::checksum::ChecksumAlgorithm;
use quick_xml::events::Event;
use quick_xml::Reader;
use thiserror::Error;

/// The namespace S3 puts on the root element of its responses.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Why a request body was refused, with S3's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XmlError {
    #[error(
        "The XML you provided was not well-formed or did not validate against our published schema"
    )]
    Malformed,
    #[error("{0}")]
    InvalidTag(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidArgument(String),
}

impl XmlError {
    /// The S3 error code sent in `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::Malformed => "MalformedXML",
            XmlError::InvalidTag(_) => "InvalidTag",
            XmlError::BadRequest(_) => "BadRequest",
            XmlError::InvalidArgument(_) => "InvalidArgument",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// Appends `text` escaped for element content. Beyond the five XML specials, control
/// characters become numeric references, as S3 writes them (`\r` is `&#13;`), so that
/// line ends survive a parser's newline normalization.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if u32::from(c) < 0x20 => {
                out.push_str("&#");
                out.push_str(&u32::from(c).to_string());
                out.push(';');
            }
            c => out.push(c),
        }
    }
}

/// `text` escaped for element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Builds one XML document. The first element written is the root and carries the S3
/// namespace unless the writer was made with [`XmlWriter::without_namespace`].
#[derive(Debug)]
pub struct XmlWriter {
    out: String,
    open: Vec<String>,
    namespace: bool,
    wrote_root: bool,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter {
            out: String::from(DECLARATION),
            open: Vec::new(),
            namespace: true,
            wrote_root: false,
        }
    }

    /// A writer whose root has no namespace, as S3's `Error` documents have none.
    pub fn without_namespace() -> Self {
        XmlWriter {
            namespace: false,
            ..Self::new()
        }
    }

    fn start_tag(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        if !self.wrote_root {
            self.wrote_root = true;
            if self.namespace {
                self.out.push_str(" xmlns=\"");
                self.out.push_str(S3_NAMESPACE);
                self.out.push('"');
            }
        }
        self.out.push('>');
    }

    fn end_tag(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Opens an element to hold others.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.start_tag(name);
        self.open.push(name.to_string());
        self
    }

    /// Closes the innermost open element (nothing when none is open).
    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            self.end_tag(&name);
        }
        self
    }

    /// Writes `<name>text</name>`.
    pub fn elem(&mut self, name: &str, text: &str) -> &mut Self {
        self.start_tag(name);
        escape_into(&mut self.out, text);
        self.end_tag(name);
        self
    }

    /// Writes `<name>text</name>` when there is a value, nothing otherwise.
    pub fn elem_opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.elem(name, text);
        }
        self
    }

    /// Writes an element with no content.
    pub fn empty(&mut self, name: &str) -> &mut Self {
        self.elem(name, "")
    }

    /// The document, with any elements still open closed.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

/// The body of an S3 error response. `resource` is left out when empty.
pub fn error_document(code: &str, message: &str, resource: &str, request_id: &str) -> String {
    let mut w = XmlWriter::without_namespace();
    w.open("Error").elem("Code", code).elem("Message", message);
    if !resource.is_empty() {
        w.elem("Resource", resource);
    }
    w.elem("RequestId", request_id);
    w.finish()
}

// ---------------------------------------------------------------------------------------
// Reading

/// Deepest element nesting accepted; S3's request bodies need five levels.
const MAX_DEPTH: usize = 32;

/// One element of a parsed document: local name (namespace dropped), the text directly
/// inside it with entities decoded, and its child elements.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The child `name`, which may appear at most once.
    fn one(&self, name: &str) -> Result<Option<&Node>, XmlError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(XmlError::Malformed);
        }
        Ok(first)
    }

    fn required(&self, name: &str) -> Result<&Node, XmlError> {
        self.one(name)?.ok_or(XmlError::Malformed)
    }

    fn text_of(&self, name: &str) -> Result<Option<&str>, XmlError> {
        Ok(self.one(name)?.map(|n| n.text.as_str()))
    }
}

/// XML's end-of-line handling: `\r\n` and lone `\r` read as `\n`. Done on raw text only,
/// so a `&#13;` reference still yields `\r`, which is how S3 asks for it to be sent.
fn normalize_newlines(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.contains('\r') {
        raw.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        raw.into()
    }
}

fn parse_document(body: &[u8], root: &str) -> Result<Node, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::Malformed)?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut done: Option<Node> = None;
    loop {
        let event = reader.read_event().map_err(|_| XmlError::Malformed)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if done.is_some() || stack.len() >= MAX_DEPTH {
                    return Err(XmlError::Malformed);
                }
                for attr in e.attributes() {
                    attr.map_err(|_| XmlError::Malformed)?;
                }
                let name = std::str::from_utf8(e.local_name().as_ref())
                    .map_err(|_| XmlError::Malformed)?
                    .to_string();
                let node = Node {
                    name,
                    ..Node::default()
                };
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut done, node);
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or(XmlError::Malformed)?;
                attach(&mut stack, &mut done, node);
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(&t).map_err(|_| XmlError::Malformed)?;
                match stack.last_mut() {
                    Some(node) => {
                        let raw = normalize_newlines(raw);
                        let decoded =
                            quick_xml::escape::unescape(&raw).map_err(|_| XmlError::Malformed)?;
                        node.text.push_str(&decoded);
                    }
                    None if raw.trim().is_empty() => {}
                    None => return Err(XmlError::Malformed),
                }
            }
            Event::CData(t) => {
                let raw = std::str::from_utf8(&t).map_err(|_| XmlError::Malformed)?;
                let node = stack.last_mut().ok_or(XmlError::Malformed)?;
                node.text.push_str(&normalize_newlines(raw));
            }
            // A DTD could declare entities; S3 bodies never need one.
            Event::DocType(_) => return Err(XmlError::Malformed),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    match done {
        Some(node) if stack.is_empty() && node.name == root => Ok(node),
        _ => Err(XmlError::Malformed),
    }
}

fn attach(stack: &mut [Node], done: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *done = Some(node),
    }
}

/// The `LocationConstraint` of a CreateBucket body; an empty body has none.
pub fn parse_create_bucket(body: &[u8]) -> Result<Option<String>, XmlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let doc = parse_document(body, "CreateBucketConfiguration")?;
    Ok(doc
        .text_of("LocationConstraint")?
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string))
}

/// Most objects one DeleteObjects request may name.
pub const MAX_DELETE_OBJECTS: usize = 1000;

/// A DeleteObjects request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRequest {
    pub quiet: bool,
    pub objects: Vec<ObjectToDelete>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectToDelete {
    pub key: String,
    pub version_id: Option<String>,
}

/// Parses a `Delete` body: one to 1000 objects, each with a key.
pub fn parse_delete(body: &[u8]) -> Result<DeleteRequest, XmlError> {
    let doc = parse_document(body, "Delete")?;
    let quiet = match doc.text_of("Quiet")?.map(str::trim) {
        None => false,
        Some(q) if q.eq_ignore_ascii_case("true") => true,
        Some(q) if q.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(XmlError::Malformed),
    };
    let count = doc.all("Object").count();
    if count == 0 || count > MAX_DELETE_OBJECTS {
        return Err(XmlError::Malformed);
    }
    let objects = doc
        .all("Object")
        .map(|o| {
            Ok(ObjectToDelete {
                // Keys are opaque: spaces around them are part of them.
                key: o.required("Key")?.text.clone(),
                version_id: o.text_of("VersionId")?.map(str::to_string),
            })
        })
        .collect::<Result<_, XmlError>>()?;
    Ok(DeleteRequest { quiet, objects })
}

/// One part named in a CompleteMultipartUpload body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: i32,
    /// As sent, usually with its double quotes.
    pub etag: String,
    pub checksums: Vec<(ChecksumAlgorithm, String)>,
}

/// Parses a `CompleteMultipartUpload` body: at least one part, each with a number and
/// an ETag. Order and existence of the parts are the caller's to check.
pub fn parse_complete_multipart(body: &[u8]) -> Result<Vec<CompletedPart>, XmlError> {
    let doc = parse_document(body, "CompleteMultipartUpload")?;
    let parts = doc
        .all("Part")
        .map(|p| {
            let part_number = p
                .required("PartNumber")?
                .text
                .trim()
                .parse::<i32>()
                .map_err(|_| XmlError::Malformed)?;
            let etag = p.required("ETag")?.text.trim().to_string();
            let mut checksums = Vec::new();
            for alg in ChecksumAlgorithm::ALL {
                if let Some(value) = p.text_of(alg.xml_element())? {
                    checksums.push((alg, value.trim().to_string()));
                }
            }
            Ok(CompletedPart {
                part_number,
                etag,
                checksums,
            })
        })
        .collect::<Result<Vec<_>, XmlError>>()?;
    if parts.is_empty() {
        return Err(XmlError::Malformed);
    }
    Ok(parts)
}

/// What a tag set is attached to; the two have different limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTarget {
    Object,
    Bucket,
}

pub const MAX_OBJECT_TAGS: usize = 10;
pub const MAX_BUCKET_TAGS: usize = 50;
pub const MAX_TAG_KEY_CHARS: usize = 128;
pub const MAX_TAG_VALUE_CHARS: usize = 256;

/// Parses a `Tagging` body into its tags, in order, and checks them.
pub fn parse_tagging(body: &[u8], target: TagTarget) -> Result<Vec<(String, String)>, XmlError> {
    let doc = parse_document(body, "Tagging")?;
    let tags = doc
        .required("TagSet")?
        .all("Tag")
        .map(|t| {
            Ok((
                t.required("Key")?.text.clone(),
                t.required("Value")?.text.clone(),
            ))
        })
        .collect::<Result<Vec<_>, XmlError>>()?;
    check_tags(&tags, target)?;
    Ok(tags)
}

/// S3's limits on a tag set, also for tags sent in `x-amz-tagging`: the count, key and
/// value lengths in characters, and unique keys.
pub fn check_tags(tags: &[(String, String)], target: TagTarget) -> Result<(), XmlError> {
    match target {
        TagTarget::Object if tags.len() > MAX_OBJECT_TAGS => {
            return Err(XmlError::BadRequest(format!(
                "Object tags cannot be greater than {MAX_OBJECT_TAGS}"
            )))
        }
        TagTarget::Bucket if tags.len() > MAX_BUCKET_TAGS => {
            return Err(XmlError::InvalidTag(format!(
                "Bucket tag count cannot be greater than {MAX_BUCKET_TAGS}"
            )))
        }
        _ => {}
    }
    for (i, (key, value)) in tags.iter().enumerate() {
        if key.is_empty() {
            return Err(XmlError::InvalidTag(
                "The TagKey you have provided is invalid".into(),
            ));
        }
        if key.chars().count() > MAX_TAG_KEY_CHARS {
            return Err(XmlError::InvalidTag(format!(
                "The TagKey you have provided is too long, max {MAX_TAG_KEY_CHARS}"
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(XmlError::InvalidTag(format!(
                "The TagValue you have provided is too long, max {MAX_TAG_VALUE_CHARS}"
            )));
        }
        if tags[..i].iter().any(|(k, _)| k == key) {
            return Err(XmlError::InvalidTag(
                "Cannot provide multiple Tags with the same key".into(),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Notifications

/// One destination of a bucket's notifications.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub id: Option<String>,
    pub arn: String,
    pub events: Vec<String>,
    /// `(name, value)`, the name lowercased (`prefix` or `suffix` once validated).
    pub filter_rules: Vec<(String, String)>,
}

impl Target {
    fn rule(&self, name: &str) -> &str {
        self.filter_rules
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The key prefix filter, empty when none.
    pub fn prefix(&self) -> &str {
        self.rule("prefix")
    }

    /// The key suffix filter, empty when none.
    pub fn suffix(&self) -> &str {
        self.rule("suffix")
    }

    /// Whether an event of type `event` on object `key` goes to this target.
    pub fn matches(&self, event: &str, key: &str) -> bool {
        self.events.iter().any(|p| event_matches(p, event))
            && key.starts_with(self.prefix())
            && key.ends_with(self.suffix())
    }
}

/// A bucket's notification configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationConfiguration {
    pub lambda: Vec<Target>,
    pub queue: Vec<Target>,
    pub topic: Vec<Target>,
    pub eventbridge: bool,
}

impl NotificationConfiguration {
    /// Every target, of whatever kind.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.lambda.iter().chain(&self.queue).chain(&self.topic)
    }
}

/// The event types a notification may name (`s3:TestEvent` is sent by S3, never
/// configured).
pub const KNOWN_EVENTS: &[&str] = &[
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

/// Whether the configured event type `pattern` covers the event type `event`: a pattern
/// ending in `:*` covers its whole family, any other only itself.
pub fn event_matches(pattern: &str, event: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(family) if family.ends_with(':') => event.starts_with(family),
        _ => pattern == event,
    }
}

/// Parses a `NotificationConfiguration` body. Element names follow the XML API
/// (`CloudFunctionConfiguration`/`CloudFunction`) and the SDK model's member names
/// (`LambdaFunctionConfiguration`/`LambdaFunctionArn`) alike.
pub fn parse_notification(body: &[u8]) -> Result<NotificationConfiguration, XmlError> {
    let doc = parse_document(body, "NotificationConfiguration")?;
    let mut cfg = NotificationConfiguration::default();
    for node in &doc.children {
        match node.name.as_str() {
            "CloudFunctionConfiguration" | "LambdaFunctionConfiguration" => cfg
                .lambda
                .push(parse_target(node, &["CloudFunction", "LambdaFunctionArn"])?),
            "QueueConfiguration" => cfg.queue.push(parse_target(node, &["Queue"])?),
            "TopicConfiguration" => cfg.topic.push(parse_target(node, &["Topic"])?),
            "EventBridgeConfiguration" => {
                if cfg.eventbridge {
                    return Err(XmlError::Malformed);
                }
                cfg.eventbridge = true;
            }
            _ => {}
        }
    }
    Ok(cfg)
}

fn parse_target(node: &Node, arn_names: &[&str]) -> Result<Target, XmlError> {
    let mut arns = arn_names.iter().filter_map(|n| node.all(n).next());
    let arn = arns.next().ok_or(XmlError::Malformed)?;
    if arns.next().is_some() || arn_names.iter().any(|n| node.one(n).is_err()) {
        return Err(XmlError::Malformed);
    }
    let events: Vec<String> = node
        .all("Event")
        .map(|e| e.text.trim().to_string())
        .collect();
    if events.is_empty() {
        return Err(XmlError::Malformed);
    }
    let mut filter_rules = Vec::new();
    if let Some(filter) = node.one("Filter")? {
        if let Some(key) = filter.one("S3Key")? {
            for rule in key.all("FilterRule") {
                filter_rules.push((
                    rule.required("Name")?.text.trim().to_ascii_lowercase(),
                    rule.text_of("Value")?.unwrap_or_default().to_string(),
                ));
            }
        }
    }
    Ok(Target {
        id: node.text_of("Id")?.map(|s| s.trim().to_string()),
        arn: arn.text.trim().to_string(),
        events,
        filter_rules,
    })
}

/// The longest prefix or suffix filter value S3 takes.
pub const MAX_FILTER_VALUE_CHARS: usize = 1024;

/// S3's checks on a notification configuration before it is stored: known event types,
/// filter rules named `prefix` or `suffix` at most once each, and no two configurations
/// that could both fire for one event on one key.
pub fn validate_notification(cfg: &NotificationConfiguration) -> Result<(), XmlError> {
    let invalid = |m: &str| Err(XmlError::InvalidArgument(m.to_string()));
    for target in cfg.targets() {
        if target
            .events
            .iter()
            .any(|e| !KNOWN_EVENTS.contains(&e.as_str()))
        {
            return invalid("The event is not supported for notifications");
        }
        for name in ["prefix", "suffix"] {
            if target
                .filter_rules
                .iter()
                .filter(|(n, _)| n == name)
                .count()
                > 1
            {
                return invalid(&format!(
                    "Cannot specify more than one {name} rule in a filter."
                ));
            }
        }
        for (name, value) in &target.filter_rules {
            if name != "prefix" && name != "suffix" {
                return invalid("filter rule name must be either prefix or suffix");
            }
            if value.chars().count() > MAX_FILTER_VALUE_CHARS {
                return invalid("The filter rule value is too long");
            }
        }
    }
    let targets: Vec<&Target> = cfg.targets().collect();
    for (i, a) in targets.iter().enumerate() {
        for b in &targets[i + 1..] {
            if configurations_overlap(a, b) {
                return invalid(
                    "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
                );
            }
        }
    }
    Ok(())
}

/// Two configurations overlap when some event on some key would go to both: they share
/// an event type (one pattern covering the other) and a key can start with both prefixes
/// (one is a prefix of the other, empty included) and end with both suffixes (one is a
/// suffix of the other). Then a key made of the longer prefix and the longer suffix
/// matches both filters, so the rule is exact.
fn configurations_overlap(a: &Target, b: &Target) -> bool {
    let shared_event = a.events.iter().any(|x| {
        b.events
            .iter()
            .any(|y| event_matches(x, y) || event_matches(y, x))
    });
    let (pa, pb) = (a.prefix(), b.prefix());
    let (sa, sb) = (a.suffix(), b.suffix());
    shared_event
        && (pa.starts_with(pb) || pb.starts_with(pa))
        && (sa.ends_with(sb) || sb.ends_with(sa))
}

/// The GetBucketNotificationConfiguration body. Lambda targets use the element names of
/// the XML API, which the SDKs parse.
pub fn notification_document(cfg: &NotificationConfiguration) -> String {
    let mut w = XmlWriter::new();
    w.open("NotificationConfiguration");
    for (element, arn_element, targets) in [
        ("TopicConfiguration", "Topic", &cfg.topic),
        ("QueueConfiguration", "Queue", &cfg.queue),
        ("CloudFunctionConfiguration", "CloudFunction", &cfg.lambda),
    ] {
        for t in targets {
            w.open(element);
            w.elem_opt("Id", t.id.as_deref());
            w.elem(arn_element, &t.arn);
            for event in &t.events {
                w.elem("Event", event);
            }
            if !t.filter_rules.is_empty() {
                w.open("Filter").open("S3Key");
                for (name, value) in &t.filter_rules {
                    // S3 answers with the rule names capitalized, whatever case was sent.
                    let name = match name.as_str() {
                        "prefix" => "Prefix",
                        "suffix" => "Suffix",
                        other => other,
                    };
                    w.open("FilterRule")
                        .elem("Name", name)
                        .elem("Value", value)
                        .close();
                }
                w.close().close();
            }
            w.close();
        }
    }
    if cfg.eventbridge {
        w.empty("EventBridgeConfiguration");
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_escaping() {
        let mut w = XmlWriter::new();
        w.open("ListBucketResult")
            .elem("Name", "bucket")
            .open("Contents")
            .elem("Key", "a&b<c>\"d'\r\n\t\u{1}é")
            .elem("ETag", "\"abc\"")
            .close()
            .elem_opt("Marker", None)
            .empty("Prefix");
        assert_eq!(
            w.finish(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
                "<Name>bucket</Name><Contents>",
                "<Key>a&amp;b&lt;c&gt;&quot;d&apos;&#13;&#10;&#9;&#1;é</Key>",
                "<ETag>&quot;abc&quot;</ETag></Contents><Prefix></Prefix></ListBucketResult>"
            )
        );
        let mut w = XmlWriter::new();
        w.elem("LocationConstraint", "eu-west-1");
        assert_eq!(
            w.finish(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>"#
            )
        );
        let mut w = XmlWriter::new();
        w.close().close();
        assert_eq!(w.finish(), DECLARATION);
    }

    #[test]
    fn error_documents() {
        assert_eq!(
            error_document(
                "NoSuchKey",
                "The specified key does not exist.",
                "/b/k&1",
                "RID"
            ),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>",
                "<Resource>/b/k&amp;1</Resource><RequestId>RID</RequestId></Error>"
            )
        );
        assert!(!error_document("C", "M", "", "R").contains("Resource"));
    }

    /// Written text reads back the same through the parser, control characters included.
    #[test]
    fn escaping_round_trips() {
        for key in [
            "plain",
            "a&b",
            "<>\"'",
            "cr\rlf\r\ncr",
            "\t\n\u{1}\u{1f}",
            "  spaced  ",
        ] {
            let mut w = XmlWriter::new();
            w.open("Delete").open("Object").elem("Key", key);
            let parsed = parse_delete(w.finish().as_bytes()).unwrap();
            assert_eq!(parsed.objects[0].key, key);
        }
    }

    /// Parses `body` with `parse` and compares with `expected`, or with the error code.
    fn check<T: PartialEq + std::fmt::Debug>(
        parse: impl Fn(&[u8]) -> Result<T, XmlError>,
        body: &str,
        expected: Result<T, &str>,
    ) {
        let got = parse(body.as_bytes()).map_err(|e| e.code());
        assert_eq!(got, expected, "{body}");
    }

    fn malformed<T>() -> Result<T, &'static str> {
        Err("MalformedXML")
    }

    #[test]
    fn create_bucket() {
        let p = parse_create_bucket;
        check(p, "", Ok(None));
        check(p, "  \n", Ok(None));
        check(
            p,
            r#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#,
            Ok(Some("eu-west-1".into())),
        );
        check(
            p,
            "<?xml version=\"1.0\"?>\n<s3:CreateBucketConfiguration xmlns:s3=\"x\">\n  <s3:LocationConstraint> us-west-2 </s3:LocationConstraint><Other>x</Other>\n</s3:CreateBucketConfiguration>\n",
            Ok(Some("us-west-2".into())),
        );
        check(p, "<CreateBucketConfiguration/>", Ok(None));
        check(
            p,
            "<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>",
            Ok(None),
        );
        for bad in [
            "<CreateBucketConfiguration>",
            "<Other/>",
            "not xml",
            "<CreateBucketConfiguration></Other>",
            "<CreateBucketConfiguration/><CreateBucketConfiguration/>",
            "<CreateBucketConfiguration/>trailing",
            "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint><LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
            "<!DOCTYPE x [<!ENTITY e \"boom\">]><CreateBucketConfiguration><LocationConstraint>&e;</LocationConstraint></CreateBucketConfiguration>",
            "<CreateBucketConfiguration><LocationConstraint>&unknown;</LocationConstraint></CreateBucketConfiguration>",
            "<CreateBucketConfiguration a=b/>",
        ] {
            check(p, bad, malformed());
        }
        assert_eq!(
            parse_create_bucket(b"\xff\xfe").map_err(|e| e.code()),
            malformed()
        );
    }

    fn obj(key: &str, version: Option<&str>) -> ObjectToDelete {
        ObjectToDelete {
            key: key.into(),
            version_id: version.map(str::to_string),
        }
    }

    #[test]
    fn delete_objects() {
        let p = parse_delete;
        check(
            p,
            r#"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Object><Key> b &amp; c </Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>"#,
            Ok(DeleteRequest {
                quiet: true,
                objects: vec![obj("a", None), obj(" b & c ", Some("v1"))],
            }),
        );
        check(
            p,
            "<Delete><Quiet>false</Quiet><Object><Key><![CDATA[<x>]]></Key><ETag>e</ETag></Object></Delete>",
            Ok(DeleteRequest {
                quiet: false,
                objects: vec![obj("<x>", None)],
            }),
        );
        check(
            p,
            "<Delete><Object><Key>line&#13;end&#xA;</Key></Object></Delete>",
            Ok(DeleteRequest {
                quiet: false,
                objects: vec![obj("line\rend\n", None)],
            }),
        );
        let many = |n: usize| {
            format!(
                "<Delete>{}</Delete>",
                "<Object><Key>k</Key></Object>".repeat(n)
            )
        };
        assert_eq!(
            parse_delete(many(1000).as_bytes()).unwrap().objects.len(),
            1000
        );
        check(p, &many(1001), malformed());
        for bad in [
            "<Delete></Delete>",
            "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
            "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
            "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
            "<Delete><Object><Key>a</Key></Object>",
            "<Delete><Object><Key>a&b</Key></Object></Delete>",
            "<Delete><Object><Key>a</Key></Object></Delete><Delete/>",
        ] {
            check(p, bad, malformed());
        }
    }

    #[test]
    fn complete_multipart() {
        let p = parse_complete_multipart;
        check(
            p,
            r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"etag1"</ETag><PartNumber>1</PartNumber><ChecksumCRC32>DUoRhQ==</ChecksumCRC32></Part><Part><PartNumber> 2 </PartNumber><ETag>&quot;etag2&quot;</ETag></Part></CompleteMultipartUpload>"#,
            Ok(vec![
                CompletedPart {
                    part_number: 1,
                    etag: "\"etag1\"".into(),
                    checksums: vec![(ChecksumAlgorithm::Crc32, "DUoRhQ==".into())],
                },
                CompletedPart {
                    part_number: 2,
                    etag: "\"etag2\"".into(),
                    checksums: vec![],
                },
            ]),
        );
        for bad in [
            "<CompleteMultipartUpload/>",
            "<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>99999999999</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>",
        ] {
            check(p, bad, malformed());
        }
    }

    fn tagging_body(tags: &[(&str, &str)]) -> String {
        let mut w = XmlWriter::new();
        w.open("Tagging").open("TagSet");
        for (k, v) in tags {
            w.open("Tag").elem("Key", k).elem("Value", v).close();
        }
        w.finish()
    }

    fn check_tagging(tags: &[(&str, &str)], target: TagTarget, expected: Result<(), &str>) {
        let body = tagging_body(tags);
        let got = parse_tagging(body.as_bytes(), target);
        match expected {
            Ok(()) => {
                let want: Vec<(String, String)> = tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                assert_eq!(got, Ok(want));
            }
            Err(code) => assert_eq!(got.map_err(|e| e.code()), Err(code), "{tags:?}"),
        }
    }

    #[test]
    fn tagging() {
        use TagTarget::*;
        let keys: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
        let set = |n: usize| -> Vec<(&str, &str)> {
            keys[..n].iter().map(|k| (k.as_str(), "v")).collect()
        };
        check_tagging(&[], Object, Ok(()));
        check_tagging(&[("Project", "Eddy"), ("empty", "")], Object, Ok(()));
        check_tagging(&set(10), Object, Ok(()));
        check_tagging(&set(11), Object, Err("BadRequest"));
        check_tagging(&set(50), Bucket, Ok(()));
        check_tagging(&set(51), Bucket, Err("InvalidTag"));
        let k128 = "k".repeat(128);
        let v256 = "é".repeat(256);
        check_tagging(&[(&k128, &v256)], Object, Ok(()));
        check_tagging(&[(&"k".repeat(129), "v")], Object, Err("InvalidTag"));
        check_tagging(&[("k", &"v".repeat(257))], Object, Err("InvalidTag"));
        check_tagging(&[("", "v")], Object, Err("InvalidTag"));
        check_tagging(
            &[("a", "1"), ("b", "2"), ("a", "3")],
            Object,
            Err("InvalidTag"),
        );
        let err = parse_tagging(tagging_body(&set(11)).as_bytes(), Object).unwrap_err();
        assert_eq!(err.to_string(), "Object tags cannot be greater than 10");
        for bad in [
            "<Tagging/>",
            "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Value>a</Value></Tag></TagSet></Tagging>",
            "<Tagging><TagSet/><TagSet/></Tagging>",
        ] {
            check(|b| parse_tagging(b, Object), bad, malformed());
        }
    }

    #[test]
    fn hostile_documents() {
        let deep = format!(
            "{}{}",
            "<Delete>".repeat(100_000),
            "</Delete>".repeat(100_000)
        );
        check(parse_delete, &deep, malformed());
        let open_only = "<Delete>".repeat(10_000);
        check(parse_delete, &open_only, malformed());
        for bad in [
            "",
            "<",
            "<Delete",
            "<Delete><!-- x",
            "<Delete><![CDATA[",
            "\u{0}",
            "<?xml?>",
            "</Delete>",
        ] {
            check(parse_delete, bad, malformed());
        }
    }

    /// Random edits of valid bodies must come back as values or errors, never panics.
    #[test]
    fn mutated_documents_never_panic() {
        let seeds = [
            tagging_body(&[("a", "b"), ("c", "")]),
            "<Delete><Object><Key>k</Key><VersionId>v</VersionId></Object><Quiet>true</Quiet></Delete>".to_string(),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>".to_string(),
            "<NotificationConfiguration><QueueConfiguration><Queue>q</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>a</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>".to_string(),
            "<CreateBucketConfiguration><LocationConstraint>x</LocationConstraint></CreateBucketConfiguration>".to_string(),
        ];
        let alphabet = b"<>/&;#x!?[]-=\"' CDATA\r\n\xc3\xa9\xff\x00";
        let mut state = 11u64;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % bound.max(1)
        };
        for round in 0..4000 {
            let mut body = seeds[round % seeds.len()].clone().into_bytes();
            for _ in 0..1 + next(4) {
                let at = next(body.len() + 1);
                let byte = alphabet[next(alphabet.len())];
                match next(3) {
                    0 if at < body.len() => body[at] = byte,
                    1 if at < body.len() => {
                        body.remove(at);
                    }
                    _ => body.insert(at, byte),
                }
            }
            let _ = parse_create_bucket(&body);
            let _ = parse_delete(&body);
            let _ = parse_complete_multipart(&body);
            let _ = parse_tagging(&body, TagTarget::Object);
            if let Ok(cfg) = parse_notification(&body) {
                let _ = validate_notification(&cfg);
                let _ = notification_document(&cfg);
            }
        }
    }

    // ----- notifications

    fn target(arn: &str, events: &[&str], rules: &[(&str, &str)]) -> Target {
        Target {
            id: None,
            arn: arn.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            filter_rules: rules
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn notification_parse_and_write() {
        let body = r#"<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CloudFunctionConfiguration>
    <Id>fn1</Id>
    <CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:f</CloudFunction>
    <Event>s3:ObjectCreated:*</Event>
    <Event>s3:ObjectRemoved:Delete</Event>
    <Filter><S3Key>
      <FilterRule><Name>Prefix</Name><Value>images/</Value></FilterRule>
      <FilterRule><Name>suffix</Name><Value>.jpg</Value></FilterRule>
    </S3Key></Filter>
  </CloudFunctionConfiguration>
  <LambdaFunctionConfiguration>
    <LambdaFunctionArn>arn:aws:lambda:us-east-1:000000000000:function:g</LambdaFunctionArn>
    <Event>s3:ObjectTagging:*</Event>
  </LambdaFunctionConfiguration>
  <QueueConfiguration><Queue>arn:aws:sqs:us-east-1:000000000000:q</Queue><Event>s3:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>logs/</Value></FilterRule></S3Key></Filter></QueueConfiguration>
  <TopicConfiguration><Id>t</Id><Topic>arn:aws:sns:us-east-1:000000000000:t</Topic><Event>s3:ReducedRedundancyLostObject</Event></TopicConfiguration>
  <EventBridgeConfiguration></EventBridgeConfiguration>
  <Unknown/>
</NotificationConfiguration>"#;
        let cfg = parse_notification(body.as_bytes()).unwrap();
        let mut first = target(
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            &["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"],
            &[("prefix", "images/"), ("suffix", ".jpg")],
        );
        first.id = Some("fn1".into());
        let second = target(
            "arn:aws:lambda:us-east-1:000000000000:function:g",
            &["s3:ObjectTagging:*"],
            &[],
        );
        let mut topic = target(
            "arn:aws:sns:us-east-1:000000000000:t",
            &["s3:ReducedRedundancyLostObject"],
            &[],
        );
        topic.id = Some("t".into());
        let expected = NotificationConfiguration {
            lambda: vec![first, second],
            queue: vec![target(
                "arn:aws:sqs:us-east-1:000000000000:q",
                &["s3:ObjectCreated:Put"],
                &[("prefix", "logs/")],
            )],
            topic: vec![topic],
            eventbridge: true,
        };
        assert_eq!(cfg, expected);
        assert_eq!(validate_notification(&cfg), Ok(()));

        // What is written parses back to the same configuration.
        let written = notification_document(&cfg);
        assert!(written.contains(
            "<CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:g</CloudFunction>"
        ));
        assert!(written.contains("<Name>Prefix</Name>"));
        assert!(written.contains("<EventBridgeConfiguration></EventBridgeConfiguration>"));
        assert_eq!(parse_notification(written.as_bytes()), Ok(cfg));

        let empty = parse_notification(b"<NotificationConfiguration/>").unwrap();
        assert_eq!(empty, NotificationConfiguration::default());
        assert_eq!(
            notification_document(&empty),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>"#
            )
        );
        let lambda = |inner: &str| {
            format!("<NotificationConfiguration><CloudFunctionConfiguration>{inner}</CloudFunctionConfiguration></NotificationConfiguration>")
        };
        for bad in [
            lambda("<Event>s3:ObjectCreated:*</Event>"),
            lambda("<CloudFunction>a</CloudFunction>"),
            lambda("<CloudFunction>a</CloudFunction><CloudFunction>b</CloudFunction><Event>e</Event>"),
            lambda("<CloudFunction>a</CloudFunction><LambdaFunctionArn>b</LambdaFunctionArn><Event>e</Event>"),
            lambda("<CloudFunction>a</CloudFunction><Event>e</Event><Filter><S3Key><FilterRule><Value>x</Value></FilterRule></S3Key></Filter>"),
            "<NotificationConfiguration><EventBridgeConfiguration/><EventBridgeConfiguration/></NotificationConfiguration>".to_string(),
            "<BucketNotificationConfiguration/>".to_string(),
        ] {
            check(parse_notification, &bad, malformed());
        }
    }

    #[test]
    fn event_patterns() {
        for (pattern, event, expected) in [
            ("s3:ObjectCreated:*", "s3:ObjectCreated:Put", true),
            (
                "s3:ObjectCreated:*",
                "s3:ObjectCreated:CompleteMultipartUpload",
                true,
            ),
            ("s3:ObjectCreated:*", "s3:ObjectCreated:*", true),
            ("s3:ObjectCreated:*", "s3:ObjectRemoved:Delete", false),
            ("s3:ObjectCreated:*", "s3:ObjectCreatedX:Put", false),
            ("s3:ObjectCreated:Put", "s3:ObjectCreated:Put", true),
            ("s3:ObjectCreated:Put", "s3:ObjectCreated:Post", false),
            ("s3:ObjectCreated:Put", "s3:ObjectCreated:*", false),
            ("s3:LifecycleTransition", "s3:LifecycleTransition", true),
            ("*", "s3:ObjectCreated:Put", false),
            ("", "", true),
        ] {
            assert_eq!(
                event_matches(pattern, event),
                expected,
                "{pattern} / {event}"
            );
        }
        let t = target(
            "a",
            &["s3:ObjectCreated:*"],
            &[("prefix", "img/"), ("suffix", ".jpg")],
        );
        assert!(t.matches("s3:ObjectCreated:Put", "img/a.jpg"));
        assert!(!t.matches("s3:ObjectCreated:Put", "img/a.png"));
        assert!(!t.matches("s3:ObjectCreated:Put", "doc/a.jpg"));
        assert!(!t.matches("s3:ObjectRemoved:Delete", "img/a.jpg"));
    }

    /// One lambda target for `check_valid`: its events and its filter rules.
    type Spec<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

    /// Validates a configuration of lambda targets built from `(events, rules)` pairs.
    fn check_valid(targets: &[Spec<'_>], expected: Result<(), &str>) {
        let cfg = NotificationConfiguration {
            lambda: targets
                .iter()
                .enumerate()
                .map(|(i, (events, rules))| target(&format!("arn:{i}"), events, rules))
                .collect(),
            ..NotificationConfiguration::default()
        };
        let got = validate_notification(&cfg).map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_string), "{targets:?}");
    }

    const OVERLAP: Result<(), &str> =
        Err("Configurations overlap. Configurations on the same bucket cannot share a common event type.");

    #[test]
    fn notification_rules() {
        let put: &[&str] = &["s3:ObjectCreated:Put"];
        let all: &[&str] = &["s3:ObjectCreated:*"];
        let del: &[&str] = &["s3:ObjectRemoved:*"];
        let none: &[(&str, &str)] = &[];
        check_valid(&[(put, none)], Ok(()));
        check_valid(&[(all, none), (del, none)], Ok(()));
        for e in KNOWN_EVENTS {
            check_valid(&[(&[*e], none)], Ok(()));
        }
        check_valid(
            &[(&["s3:TestEvent"], none)],
            Err("The event is not supported for notifications"),
        );
        check_valid(
            &[(&["s3:ObjectCreated:Get"], none)],
            Err("The event is not supported for notifications"),
        );
        check_valid(
            &[(&["s3:objectcreated:*"], none)],
            Err("The event is not supported for notifications"),
        );
        check_valid(
            &[(put, &[("prefix", "a"), ("prefix", "b")])],
            Err("Cannot specify more than one prefix rule in a filter."),
        );
        check_valid(
            &[(put, &[("suffix", "a"), ("suffix", "b")])],
            Err("Cannot specify more than one suffix rule in a filter."),
        );
        check_valid(
            &[(put, &[("middle", "a")])],
            Err("filter rule name must be either prefix or suffix"),
        );
        check_valid(&[(put, &[("prefix", "a"), ("suffix", "b")])], Ok(()));

        // Overlap needs a shared event type...
        check_valid(&[(put, none), (put, none)], OVERLAP);
        check_valid(&[(all, none), (put, none)], OVERLAP);
        check_valid(&[(put, none), (&["s3:ObjectCreated:Post"], none)], Ok(()));
        check_valid(
            &[
                (&["s3:ObjectCreated:Post", "s3:ObjectRemoved:*"], none),
                (del, none),
            ],
            OVERLAP,
        );
        // ...and filters some key satisfies at once.
        let p = |v| [("prefix", v)];
        let s = |v| [("suffix", v)];
        check_valid(&[(put, &p("images/")), (put, &p("logs/"))], Ok(()));
        check_valid(&[(put, &p("images/")), (put, &p("images/2024/"))], OVERLAP);
        check_valid(&[(put, &p("images")), (put, &p("images/"))], OVERLAP);
        check_valid(&[(put, &p("images/")), (put, none)], OVERLAP);
        check_valid(&[(put, &s(".jpg")), (put, &s(".png"))], Ok(()));
        check_valid(&[(put, &s("jpg")), (put, &s(".jpg"))], OVERLAP);
        check_valid(&[(put, &s(".jpg")), (put, &p("images/"))], OVERLAP);
        check_valid(
            &[
                (put, &[("prefix", "images/"), ("suffix", ".jpg")]),
                (put, &[("prefix", "images/"), ("suffix", ".png")]),
            ],
            Ok(()),
        );
        check_valid(
            &[
                (put, &[("prefix", "images/"), ("suffix", ".jpg")]),
                (put, &[("prefix", "logs/"), ("suffix", ".jpg")]),
            ],
            Ok(()),
        );
        check_valid(
            &[
                (put, &[("prefix", "images/"), ("suffix", ".jpg")]),
                (all, &[("prefix", "images/2024/"), ("suffix", "large.jpg")]),
            ],
            OVERLAP,
        );
        // Overlap is checked across destination kinds too.
        let cfg = NotificationConfiguration {
            queue: vec![target("q", put, &[])],
            topic: vec![target("t", all, &[])],
            ..NotificationConfiguration::default()
        };
        assert_eq!(
            validate_notification(&cfg).map_err(|e| e.code()),
            Err("InvalidArgument")
        );
    }
}
