//! REST APIs (v1), the pure part: checks of path parts, methods, stage names and Lambda
//! integration URIs, and [`ResourceTree`], which finds the resource and method a request
//! path names (literal path parts first, then `{param}`, then `{proxy+}`).

use crate::error::{bad, ApigwError, Result};
use std::collections::BTreeMap;

/// REST APIs per region (AWS's default quota is 600).
pub const REST_APIS_PER_REGION_MAX: usize = 600;
/// Resources per API (AWS: 300).
pub const RESOURCES_PER_API_MAX: usize = 300;
/// Stages per API (AWS: 10).
pub const STAGES_PER_API_MAX: usize = 10;
/// Deployments kept per API.
pub const DEPLOYMENTS_PER_API_MAX: usize = 1000;
/// Stage variables per stage.
pub const STAGE_VARIABLES_MAX: usize = 100;
/// A path part's length limit.
pub const PATH_PART_CHARS_MAX: usize = 255;
/// The integration timeout range (AWS: 50 ms to 29 s by default).
pub const TIMEOUT_MS_MIN: i64 = 50;
pub const TIMEOUT_MS_MAX: i64 = 29_000;
/// Length of a resource id (AWS's are 6 to 10 lower-case letters and digits).
pub const RESOURCE_ID_LEN: usize = 6;
/// Length of a REST API id (shared namespace with HTTP APIs) and a deployment id.
pub const API_ID_LEN: usize = 10;
pub const DEPLOYMENT_ID_LEN: usize = 6;
/// Page sizes of the Get* list operations.
pub const PAGE_DEFAULT: usize = 25;
pub const PAGE_MAX: usize = 500;

/// Methods a REST API method may be put for (`ANY` matches every request method).
pub const HTTP_METHODS: [&str; 8] = [
    "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
];

/// Authorization types a method may name; only `NONE` (and `AWS_IAM`, against the
/// request's signature) is enforced, the others answer 401 on the data plane.
pub const AUTHORIZATION_TYPES: [&str; 4] = ["NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"];

/// What kind of path part a resource has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Literal(String),
    /// `{name}`: one path segment.
    Param(String),
    /// `{name+}`: one or more segments, the rest of the path.
    Greedy(String),
}

impl PathPart {
    /// Parses and checks a CreateResource `pathPart`.
    pub fn parse(part: &str) -> Result<PathPart> {
        let invalid = || {
            bad(format!(
                "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace. Invalid path part: {part}"
            ))
        };
        if part.is_empty() || part.chars().count() > PATH_PART_CHARS_MAX {
            return Err(invalid());
        }
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            return match inner.strip_suffix('+') {
                Some(name) if name_ok(name) => Ok(PathPart::Greedy(name.to_string())),
                None if name_ok(inner) => Ok(PathPart::Param(inner.to_string())),
                _ => Err(invalid()),
            };
        }
        if part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
        {
            Ok(PathPart::Literal(part.to_string()))
        } else {
            Err(invalid())
        }
    }

    fn is_variable(&self) -> bool {
        !matches!(self, PathPart::Literal(_))
    }
}

/// Checks that `part` may be added under a parent whose path part is `parent`
/// (`None` for the root) next to `siblings` (the parent's other children's path parts).
pub fn check_child(part: &str, parent: Option<&str>, siblings: &[&str]) -> Result<PathPart> {
    let parsed = PathPart::parse(part)?;
    if let Some(parent) = parent {
        if matches!(PathPart::parse(parent), Ok(PathPart::Greedy(_))) {
            return Err(bad(
                "Cannot create a child of a resource with a greedy path variable",
            ));
        }
    }
    if siblings.contains(&part) {
        return Err(ApigwError::Conflict(format!(
            "Another resource with the same parent already has this name: {part}"
        )));
    }
    if parsed.is_variable()
        && siblings
            .iter()
            .any(|s| PathPart::parse(s).is_ok_and(|p| p.is_variable()))
    {
        return Err(bad(format!(
            "A sibling ({}) of this resource already has a variable path part -- only one is allowed",
            siblings
                .iter()
                .find(|s| s.starts_with('{'))
                .copied()
                .unwrap_or_default()
        )));
    }
    Ok(parsed)
}

/// Checks a method key (`GET`, `ANY`, ...); returns it upper-cased as AWS stores it.
pub fn check_http_method(method: &str) -> Result<String> {
    let upper = method.to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(bad(
            "Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY",
        ))
    }
}

pub fn check_authorization_type(t: &str) -> Result<()> {
    if AUTHORIZATION_TYPES.contains(&t) {
        Ok(())
    } else {
        Err(bad(format!(
            "Invalid authorization type specified. Valid options are {}",
            AUTHORIZATION_TYPES.join(",")
        )))
    }
}

/// A stage name: letters, digits, `-` and `_`, at most 128 characters.
pub fn check_stage_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "Stage name only allows a-zA-Z0-9_- and must be at most 128 characters",
        ))
    }
}

/// A stage variable: the name `[A-Za-z0-9_]+`, the value at most 2048 characters of
/// `[A-Za-z0-9-._~:/?#&=,]`.
pub fn check_stage_variable(name: &str, value: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(bad(format!(
            "Stage variable name {name} only allows a-zA-Z0-9_ and must be 1 to 64 characters"
        )));
    }
    let value_ok = value.len() <= 2048
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'#' | b'&' | b'=' | b','
                )
        });
    if !value_ok {
        return Err(bad(format!(
            "Stage variable value for {name} only allows a-zA-Z0-9-._~:/?#&=, and must be at most 2048 characters"
        )));
    }
    Ok(())
}

/// The function ARN of a REST Lambda proxy integration URI, which must be API
/// Gateway's `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<fn-arn>/invocations`.
pub fn lambda_integration_uri(uri: &str) -> Result<String> {
    if !uri.starts_with("arn:") || !uri.contains(":apigateway:") {
        return Err(bad("Invalid ARN specified in the request"));
    }
    crate::model::lambda_function_arn(uri)
        .ok_or_else(|| bad("Invalid ARN specified in the request"))
}

/// One resource of a tree to match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeResource {
    pub id: String,
    /// `None` for the root.
    pub parent_id: Option<String>,
    /// `None` for the root.
    pub path_part: Option<String>,
    /// The full resource path, e.g. `/items/{id}`.
    pub path: String,
    /// The methods it has (`GET`, `ANY`, ...).
    pub methods: Vec<String>,
}

/// What a request matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeMatch {
    pub resource_id: String,
    pub resource_path: String,
    /// The method key that matched: the request's, or `ANY`.
    pub method_key: String,
    /// Variable name to percent-decoded value, in path order.
    pub path_parameters: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Node {
    resource: Option<TreeResource>,
    literals: BTreeMap<String, usize>,
    param: Option<(String, usize)>,
    greedy: Option<(String, usize)>,
}

/// A REST API's resources, compiled for matching request paths.
///
/// Matching walks the tree one path segment at a time, trying a literal child first,
/// then the `{param}` child, then a `{proxy+}` child (which takes all remaining
/// segments). A resource counts only if it has the request's method or `ANY`; when it
/// has neither, the search backs up and tries the less specific branches, so a
/// `{proxy+}` with `ANY` catches what a more specific resource does not serve.
#[derive(Debug, Default)]
pub struct ResourceTree {
    nodes: Vec<Node>,
}

impl ResourceTree {
    /// Compiles `resources` (one of them the root, with no parent). Resources whose
    /// parent is missing are left out.
    pub fn new(resources: &[TreeResource]) -> ResourceTree {
        let mut tree = ResourceTree {
            nodes: vec![Node::default()],
        };
        let Some(root) = resources.iter().find(|r| r.parent_id.is_none()) else {
            return tree;
        };
        tree.nodes[0].resource = Some(root.clone());
        let mut by_parent: BTreeMap<&str, Vec<&TreeResource>> = BTreeMap::new();
        for r in resources {
            if let Some(p) = &r.parent_id {
                by_parent.entry(p).or_default().push(r);
            }
        }
        // From the root down; each resource is visited once, from its parent.
        let mut queue = vec![(root.id.as_str(), 0usize)];
        while let Some((id, at)) = queue.pop() {
            for child in by_parent.get(id).map(Vec::as_slice).unwrap_or_default() {
                let Some(part) = &child.path_part else {
                    continue;
                };
                let Ok(parsed) = PathPart::parse(part) else {
                    continue;
                };
                let index = tree.nodes.len();
                tree.nodes.push(Node {
                    resource: Some((*child).clone()),
                    ..Node::default()
                });
                let node = &mut tree.nodes[at];
                match parsed {
                    PathPart::Literal(l) => {
                        node.literals.insert(l, index);
                    }
                    PathPart::Param(n) => node.param = Some((n, index)),
                    PathPart::Greedy(n) => node.greedy = Some((n, index)),
                }
                queue.push((child.id.as_str(), index));
            }
        }
        tree
    }

    /// The resource and method `method` on `path` (percent-encoded, no query, no stage)
    /// reaches. Empty segments (a trailing or doubled `/`) are ignored.
    pub fn find(&self, method: &str, path: &str) -> Option<TreeMatch> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut params = Vec::new();
        self.walk(0, &segments, method, &mut params)
    }

    fn walk(
        &self,
        at: usize,
        rest: &[&str],
        method: &str,
        params: &mut Vec<(String, String)>,
    ) -> Option<TreeMatch> {
        let node = self.nodes.get(at)?;
        let Some((first, tail)) = rest.split_first() else {
            return Self::accept(node, method, params);
        };
        let decoded = wire::percent_decode(first);
        if let Some(&child) = node.literals.get(&decoded) {
            if let Some(m) = self.walk(child, tail, method, params) {
                return Some(m);
            }
        }
        if let Some((name, child)) = &node.param {
            params.push((name.clone(), decoded));
            if let Some(m) = self.walk(*child, tail, method, params) {
                return Some(m);
            }
            params.pop();
        }
        if let Some((name, child)) = &node.greedy {
            let value: Vec<String> = rest.iter().map(|s| wire::percent_decode(s)).collect();
            params.push((name.clone(), value.join("/")));
            if let Some(m) = Self::accept(&self.nodes[*child], method, params) {
                return Some(m);
            }
            params.pop();
        }
        None
    }

    fn accept(node: &Node, method: &str, params: &[(String, String)]) -> Option<TreeMatch> {
        let r = node.resource.as_ref()?;
        let key = if r.methods.iter().any(|m| m == method) {
            method
        } else if r.methods.iter().any(|m| m == "ANY") {
            "ANY"
        } else {
            return None;
        };
        Some(TreeMatch {
            resource_id: r.id.clone(),
            resource_path: r.path.clone(),
            method_key: key.to_string(),
            path_parameters: params.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(
        id: &str,
        parent: Option<&str>,
        part: Option<&str>,
        path: &str,
        methods: &[&str],
    ) -> TreeResource {
        TreeResource {
            id: id.into(),
            parent_id: parent.map(Into::into),
            path_part: part.map(Into::into),
            path: path.into(),
            methods: methods.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn tree() -> ResourceTree {
        ResourceTree::new(&[
            res("root", None, None, "/", &["GET"]),
            res(
                "proxy",
                Some("root"),
                Some("{proxy+}"),
                "/{proxy+}",
                &["ANY"],
            ),
            res("items", Some("root"), Some("items"), "/items", &["POST"]),
            res("item", Some("items"), Some("{id}"), "/items/{id}", &["GET"]),
            res("new", Some("items"), Some("new"), "/items/new", &["GET"]),
            res(
                "parts",
                Some("item"),
                Some("parts"),
                "/items/{id}/parts",
                &["ANY"],
            ),
            res("bare", Some("root"), Some("bare"), "/bare", &[]),
        ])
    }

    /// `(method, path) -> expected (resource path, method key, params)` or no match.
    /// The resource path, method key and path parameters a request should match.
    type Expected = Option<(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    )>;

    fn check(method: &str, path: &str, expected: Expected) {
        let got = tree().find(method, path);
        let got = got.as_ref().map(|m| {
            (
                m.resource_path.as_str(),
                m.method_key.as_str(),
                m.path_parameters
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
        });
        let expected = expected.map(|(p, k, params)| (p, k, params.to_vec()));
        assert_eq!(got, expected, "{method} {path}");
    }

    #[test]
    fn resource_tree_matching() {
        let cases: &[(&str, &str, Expected)] = &[
            ("GET", "/", Some(("/", "GET", &[]))),
            ("GET", "", Some(("/", "GET", &[]))),
            // The root has no POST, and `{proxy+}` needs at least one segment.
            ("POST", "/", None),
            (
                "GET",
                "/items/42",
                Some(("/items/{id}", "GET", &[("id", "42")])),
            ),
            (
                "GET",
                "/items/42/",
                Some(("/items/{id}", "GET", &[("id", "42")])),
            ),
            (
                "GET",
                "/items/a%20b",
                Some(("/items/{id}", "GET", &[("id", "a b")])),
            ),
            // A literal beats a parameter.
            ("GET", "/items/new", Some(("/items/new", "GET", &[]))),
            ("POST", "/items", Some(("/items", "POST", &[]))),
            // /items has no GET: the greedy resource takes it.
            (
                "GET",
                "/items",
                Some(("/{proxy+}", "ANY", &[("proxy", "items")])),
            ),
            (
                "DELETE",
                "/items/42",
                Some(("/{proxy+}", "ANY", &[("proxy", "items/42")])),
            ),
            (
                "PUT",
                "/items/7/parts",
                Some(("/items/{id}/parts", "ANY", &[("id", "7")])),
            ),
            (
                "GET",
                "/a/b/c",
                Some(("/{proxy+}", "ANY", &[("proxy", "a/b/c")])),
            ),
            (
                "GET",
                "/bare",
                Some(("/{proxy+}", "ANY", &[("proxy", "bare")])),
            ),
        ];
        for (method, path, expected) in cases {
            check(method, path, *expected);
        }
    }

    #[test]
    fn without_a_catch_all_unknown_paths_miss() {
        let t = ResourceTree::new(&[
            res("root", None, None, "/", &[]),
            res("items", Some("root"), Some("items"), "/items", &["GET"]),
        ]);
        assert_eq!(t.find("GET", "/"), None);
        assert_eq!(t.find("GET", "/other"), None);
        assert_eq!(t.find("POST", "/items"), None);
        assert!(t.find("GET", "/items").is_some());
        assert_eq!(ResourceTree::new(&[]).find("GET", "/"), None);
    }

    #[test]
    fn path_parts() {
        let cases: &[(&str, Option<PathPart>)] = &[
            ("items", Some(PathPart::Literal("items".into()))),
            ("v1.0_a-b:c", Some(PathPart::Literal("v1.0_a-b:c".into()))),
            ("{id}", Some(PathPart::Param("id".into()))),
            ("{proxy+}", Some(PathPart::Greedy("proxy".into()))),
            ("", None),
            ("a/b", None),
            ("{}", None),
            ("{+}", None),
            ("{a", None),
            ("x{a}", None),
            ("{a b}", None),
            ("a b", None),
        ];
        for (part, expected) in cases {
            assert_eq!(PathPart::parse(part).ok(), *expected, "{part}");
        }
    }

    #[test]
    fn children_are_checked_against_parent_and_siblings() {
        type Case = (
            &'static str,
            Option<&'static str>,
            &'static [&'static str],
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            ("items", None, &[], None),
            ("items", None, &["items"], Some("ConflictException")),
            ("{id}", Some("items"), &["new"], None),
            (
                "{id}",
                Some("items"),
                &["{other}"],
                Some("BadRequestException"),
            ),
            ("{proxy+}", None, &["{id}"], Some("BadRequestException")),
            ("x", Some("{proxy+}"), &[], Some("BadRequestException")),
            ("x y", None, &[], Some("BadRequestException")),
        ];
        for (part, parent, siblings, expected) in cases {
            let got = check_child(part, *parent, siblings).err().map(|e| e.code());
            assert_eq!(got, *expected, "{part} under {parent:?}");
        }
    }

    #[test]
    fn methods_stages_variables_and_uris() {
        assert_eq!(check_http_method("get").unwrap(), "GET");
        assert_eq!(check_http_method("ANY").unwrap(), "ANY");
        assert!(check_http_method("TRACE").is_err());
        assert!(check_authorization_type("NONE").is_ok());
        assert!(check_authorization_type("IAM").is_err());
        for (name, ok) in [
            ("test", true),
            ("prod_2-a", true),
            ("", false),
            ("a b", false),
            ("$default", false),
        ] {
            assert_eq!(check_stage_name(name).is_ok(), ok, "{name}");
        }
        for (name, value, ok) in [
            ("env", "prod", true),
            ("url", "http://x:1/a?b=c&d", true),
            ("a-b", "x", false),
            ("a", "x y", false),
        ] {
            assert_eq!(
                check_stage_variable(name, value).is_ok(),
                ok,
                "{name}={value}"
            );
        }
        let fn_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
        let uri = format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
        );
        assert_eq!(lambda_integration_uri(&uri).unwrap(), fn_arn);
        assert!(lambda_integration_uri(fn_arn).is_err());
        assert!(lambda_integration_uri("arn:aws:apigateway:us-east-1:lambda:path/x").is_err());
    }
}
