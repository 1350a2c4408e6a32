//! HTTP API routes: route keys compiled once, then the most specific match per request.
//!
//! A route key is `$default` or `METHOD /path`, where a path segment is a literal,
//! a variable `{name}` or, last only, a greedy variable `{name+}` that takes one or
//! more segments. Among the routes that match a request the most specific wins, as
//! API Gateway documents it: literal segments beat variables, variables beat a greedy
//! variable (compared segment by segment from the left), then a named method beats
//! `ANY`, and `$default` is taken only when nothing else matches.

use crate::request::percent_decode;

/// Methods a route key may name; `ANY` stands for all of them.
const METHODS: [&str; 8] = [
    "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
];

/// The catch-all route key.
pub const DEFAULT_ROUTE: &str = "$default";

/// A route key API Gateway would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route key '{key}' must be '$default' or 'METHOD /path'")]
    Malformed { key: String },
    #[error("route key '{key}' has an unsupported method '{method}'")]
    Method { key: String, method: String },
    #[error("route key '{key}' has a path that does not start with '/'")]
    PathNotAbsolute { key: String },
    #[error("route key '{key}' has an empty path segment")]
    EmptySegment { key: String },
    #[error("route key '{key}' has an invalid path variable '{segment}'")]
    Variable { key: String, segment: String },
    #[error("route key '{key}' has a greedy path variable that is not the last segment")]
    GreedyNotLast { key: String },
    #[error("route key '{key}' names path variable '{name}' twice")]
    DuplicateVariable { key: String, name: String },
    #[error("route key '{key}' is defined twice")]
    Duplicate { key: String },
}

/// The route chosen for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The route key exactly as configured, e.g. `GET /items/{id}` or `$default`.
    pub route_key: String,
    /// Variable name to percent-decoded value, in path order.
    pub path_parameters: Vec<(String, String)>,
}

/// Compiled route keys of one API.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    has_default: bool,
}

#[derive(Debug, Clone)]
struct Route {
    key: String,
    /// `None` is `ANY`.
    method: Option<String>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Variable(String),
    Greedy(String),
}

impl Segment {
    /// How specific the segment is; higher wins.
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 2,
            Segment::Variable(_) => 1,
            Segment::Greedy(_) => 0,
        }
    }
}

impl RouteTable {
    /// Compiles `keys`, refusing any key API Gateway would refuse.
    pub fn new(keys: &[String]) -> Result<RouteTable, RouteError> {
        let mut table = RouteTable::default();
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].contains(key) {
                return Err(RouteError::Duplicate { key: key.clone() });
            }
            if key == DEFAULT_ROUTE {
                table.has_default = true;
            } else {
                table.routes.push(Route::parse(key)?);
            }
        }
        Ok(table)
    }

    /// The most specific route for `method` and the still-encoded `path`, or
    /// `None` when nothing matches (API Gateway then answers 404).
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch> {
        let segments = split_path(path);
        // Ties (same shape, same method kind) go to the route defined first, so
        // the answer never depends on anything but the configuration.
        let mut best: Option<(Specificity, RouteMatch)> = None;
        for route in &self.routes {
            let named_method = match &route.method {
                Some(m) if m == method => true,
                Some(_) => continue,
                None => false,
            };
            let Some(path_parameters) = route.bind(&segments) else {
                continue;
            };
            let specificity = Specificity {
                segments: route.segments.iter().map(Segment::rank).collect(),
                named_method,
            };
            if best.as_ref().is_none_or(|(b, _)| specificity > *b) {
                let found = RouteMatch {
                    route_key: route.key.clone(),
                    path_parameters,
                };
                best = Some((specificity, found));
            }
        }
        match best {
            Some((_, found)) => Some(found),
            None => self.has_default.then(|| RouteMatch {
                route_key: DEFAULT_ROUTE.to_string(),
                path_parameters: Vec::new(),
            }),
        }
    }
}

/// How specific a matching route is; the greater wins. Fields compare in
/// order: the path decides first, the method only between equal paths.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    /// [`Segment::rank`] of each segment, compared from the left.
    segments: Vec<u8>,
    /// A named method rather than `ANY`.
    named_method: bool,
}

impl Route {
    fn parse(key: &str) -> Result<Route, RouteError> {
        let malformed = || RouteError::Malformed {
            key: key.to_string(),
        };
        let (method, path) = key.split_once(' ').ok_or_else(malformed)?;
        if method.is_empty() || path.contains(' ') {
            return Err(malformed());
        }
        if !METHODS.contains(&method) {
            return Err(RouteError::Method {
                key: key.to_string(),
                method: method.to_string(),
            });
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Err(RouteError::PathNotAbsolute {
                key: key.to_string(),
            });
        };
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for raw in rest.split('/') {
                segments.push(parse_segment(key, raw)?);
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            let name = match segment {
                Segment::Literal(_) => continue,
                Segment::Greedy(_) if i + 1 != segments.len() => {
                    return Err(RouteError::GreedyNotLast {
                        key: key.to_string(),
                    });
                }
                Segment::Variable(n) | Segment::Greedy(n) => n.as_str(),
            };
            if names.contains(&name) {
                return Err(RouteError::DuplicateVariable {
                    key: key.to_string(),
                    name: name.to_string(),
                });
            }
            names.push(name);
        }
        Ok(Route {
            key: key.to_string(),
            method: (method != "ANY").then(|| method.to_string()),
            segments,
        })
    }

    /// Binds the request's path segments to this route, or `None` if they don't fit.
    fn bind(&self, request: &[&str]) -> Option<Vec<(String, String)>> {
        let mut params = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if percent_decode(request.get(i)?) != *literal {
                        return None;
                    }
                }
                Segment::Variable(name) => {
                    let value = request.get(i).filter(|s| !s.is_empty())?;
                    params.push((name.clone(), percent_decode(value)));
                }
                Segment::Greedy(name) => {
                    // A greedy variable needs something to take: `/a/{proxy+}`
                    // matches `/a/b` and `/a/b/c` but neither `/a` nor `/a/`.
                    let rest = request.get(i..)?.join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    params.push((name.clone(), percent_decode(&rest)));
                    return Some(params);
                }
            }
        }
        (request.len() == self.segments.len()).then_some(params)
    }
}

fn parse_segment(key: &str, raw: &str) -> Result<Segment, RouteError> {
    if raw.is_empty() {
        return Err(RouteError::EmptySegment {
            key: key.to_string(),
        });
    }
    let bad = || RouteError::Variable {
        key: key.to_string(),
        segment: raw.to_string(),
    };
    if !raw.contains(['{', '}']) {
        return Ok(Segment::Literal(raw.to_string()));
    }
    // Variables fill a whole segment; `/a{b}` and `/{a}{b}` are not route paths.
    let inner = raw
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(bad)?;
    let (name, greedy) = match inner.strip_suffix('+') {
        Some(name) => (name, true),
        None => (inner, false),
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid_name {
        return Err(bad());
    }
    Ok(if greedy {
        Segment::Greedy(name.to_string())
    } else {
        Segment::Variable(name.to_string())
    })
}

/// Splits a request path into its raw segments: `/` is none, `/a/` is `a` and
/// an empty segment, so a trailing slash never matches a route without one.
fn split_path(path: &str) -> Vec<&str> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[&str]) -> RouteTable {
        let keys: Vec<String> = routes.iter().map(|s| s.to_string()).collect();
        RouteTable::new(&keys).unwrap_or_else(|e| panic!("{routes:?}: {e}"))
    }

    /// `expected` is `"ROUTE KEY | name=value name=value"`, or `"-"` for no match.
    fn check(routes: &[&str], request: &str, expected: &str) {
        let (method, path) = request.split_once(' ').unwrap();
        let got = match table(routes).find(method, path) {
            None => "-".to_string(),
            Some(m) => {
                let params: Vec<String> = m
                    .path_parameters
                    .iter()
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect();
                format!("{} | {}", m.route_key, params.join(" "))
                    .trim_end()
                    .to_string()
            }
        };
        assert_eq!(got, expected, "routes {routes:?}, request {request}");
    }

    fn check_invalid(key: &str, expected: &str) {
        let err = RouteTable::new(&[key.to_string()]).unwrap_err();
        assert_eq!(err.to_string(), expected, "{key}");
    }

    // The case tables read best one case per line, wider than rustfmt allows.

    #[test]
    #[rustfmt::skip]
    fn documented_example() {
        // The four routes of the routing example in AWS's "Working with routes".
        let routes = ["GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default"];
        check(&routes, "GET /pets/dog/1", "GET /pets/dog/{id} | id=1");
        check(&routes, "GET /pets/cat/1", "GET /pets/{proxy+} | proxy=cat/1");
        check(&routes, "POST /test/5", "ANY /{proxy+} | proxy=test/5");
        check(&routes, "GET /", "$default |");
        check(&routes, "GET /pets", "ANY /{proxy+} | proxy=pets");
    }

    #[test]
    #[rustfmt::skip]
    fn precedence() {
        // Literal beats variable, variable beats greedy, from the left.
        check(&["GET /items/{id}", "GET /items/new"], "GET /items/new", "GET /items/new |");
        check(&["GET /items/{id}", "GET /items/new"], "GET /items/7", "GET /items/{id} | id=7");
        check(&["GET /{proxy+}", "GET /items/{id}"], "GET /items/7", "GET /items/{id} | id=7");
        check(&["GET /a/{x}", "GET /{y}/b"], "GET /a/b", "GET /a/{x} | x=b");
        check(&["GET /a/{proxy+}", "GET /a/{x}/{y}"], "GET /a/b/c", "GET /a/{x}/{y} | x=b y=c");
        check(&["GET /{proxy+}", "GET /a/{proxy+}"], "GET /a/b", "GET /a/{proxy+} | proxy=b");
        // A named method beats ANY on the same path...
        check(&["ANY /items", "GET /items"], "GET /items", "GET /items |");
        check(&["ANY /items", "GET /items"], "DELETE /items", "ANY /items |");
        // ...but the path decides first.
        check(&["ANY /items/new", "GET /items/{id}"], "GET /items/new", "ANY /items/new |");
        check(&["GET /{proxy+}", "ANY /items/{id}"], "GET /items/1", "ANY /items/{id} | id=1");
        // Same shape, same method kind: the route defined first.
        check(&["GET /a/{x}", "GET /a/{y}"], "GET /a/1", "GET /a/{x} | x=1");
        check(&["GET /a/{y}", "GET /a/{x}"], "GET /a/1", "GET /a/{y} | y=1");
        // $default only when nothing else matches.
        check(&["$default", "ANY /{proxy+}"], "PATCH /x", "ANY /{proxy+} | proxy=x");
        check(&["$default", "GET /x"], "POST /x", "$default |");
        check(&["GET /x"], "POST /x", "-");
        check(&[], "GET /", "-");
    }

    #[test]
    #[rustfmt::skip]
    fn path_shapes() {
        check(&["GET /"], "GET /", "GET / |");
        check(&["GET /"], "GET /a", "-");
        check(&["POST /a/b"], "POST /a/b", "POST /a/b |");
        check(&["POST /a/b"], "post /a/b", "-");
        check(&["GET /a/b"], "GET /a/B", "-");
        check(&["GET /a"], "GET /a/", "-");
        check(&["GET /a/{id}"], "GET /a/", "-");
        check(&["GET /a/{id}"], "GET /a//", "-");
        check(&["GET /a/{proxy+}"], "GET /a", "-");
        check(&["GET /a/{proxy+}"], "GET /a/", "-");
        check(&["GET /a/{proxy+}"], "GET /a/b/c/", "GET /a/{proxy+} | proxy=b/c/");
        check(&["GET /a/{id}/c"], "GET /a/b/c", "GET /a/{id}/c | id=b");
        check(&["GET /a/{id}/c"], "GET /a/b/d", "-");
        check(&["GET /a/{id}"], "GET /a/b/c", "-");
        check(&["HEAD /a"], "HEAD /a", "HEAD /a |");
        check(&["GET /a"], "HEAD /a", "-");
    }

    #[test]
    #[rustfmt::skip]
    fn parameters_are_decoded() {
        check(&["GET /items/{id}"], "GET /items/a%20b", "GET /items/{id} | id=a b");
        // An encoded slash stays inside its segment.
        check(&["GET /items/{id}"], "GET /items/a%2Fb", "GET /items/{id} | id=a/b");
        check(&["GET /f/{proxy+}"], "GET /f/x%2By/%C3%A9", "GET /f/{proxy+} | proxy=x+y/é");
        check(&["GET /caf%C3%A9"], "GET /caf%C3%A9", "-");
        check(&["GET /café"], "GET /caf%C3%A9", "GET /café |");
        check(&["GET /u/{user}/f/{file}"], "GET /u/ann/f/x.txt", "GET /u/{user}/f/{file} | user=ann file=x.txt");
    }

    #[test]
    #[rustfmt::skip]
    fn invalid_keys() {
        check_invalid("", "route key '' must be '$default' or 'METHOD /path'");
        check_invalid("GET", "route key 'GET' must be '$default' or 'METHOD /path'");
        check_invalid("GET  /a", "route key 'GET  /a' must be '$default' or 'METHOD /path'");
        check_invalid("GET /a b", "route key 'GET /a b' must be '$default' or 'METHOD /path'");
        check_invalid("$Default", "route key '$Default' must be '$default' or 'METHOD /path'");
        check_invalid("FETCH /a", "route key 'FETCH /a' has an unsupported method 'FETCH'");
        check_invalid("get /a", "route key 'get /a' has an unsupported method 'get'");
        check_invalid("GET a", "route key 'GET a' has a path that does not start with '/'");
        check_invalid("GET /a//b", "route key 'GET /a//b' has an empty path segment");
        check_invalid("GET /a/", "route key 'GET /a/' has an empty path segment");
        check_invalid("GET /{}", "route key 'GET /{}' has an invalid path variable '{}'");
        check_invalid("GET /{+}", "route key 'GET /{+}' has an invalid path variable '{+}'");
        check_invalid("GET /a{b}", "route key 'GET /a{b}' has an invalid path variable 'a{b}'");
        check_invalid("GET /{a}{b}", "route key 'GET /{a}{b}' has an invalid path variable '{a}{b}'");
        check_invalid("GET /{a", "route key 'GET /{a' has an invalid path variable '{a'");
        check_invalid("GET /{a b}", "route key 'GET /{a b}' must be '$default' or 'METHOD /path'");
        check_invalid("GET /{a/b}", "route key 'GET /{a/b}' has an invalid path variable '{a'");
        check_invalid("GET /{proxy+}/x", "route key 'GET /{proxy+}/x' has a greedy path variable that is not the last segment");
        check_invalid("GET /{id}/{id}", "route key 'GET /{id}/{id}' names path variable 'id' twice");
        check_invalid("GET /{id}/{id+}", "route key 'GET /{id}/{id+}' names path variable 'id' twice");
    }

    #[test]
    fn duplicates() {
        let dup = ["GET /a".to_string(), "GET /a".to_string()];
        assert_eq!(
            RouteTable::new(&dup).unwrap_err(),
            RouteError::Duplicate {
                key: "GET /a".into()
            }
        );
        let dup = ["$default".to_string(), "$default".to_string()];
        assert!(RouteTable::new(&dup).is_err());
        // Different methods or shapes on one path are fine.
        table(&[
            "GET /a",
            "ANY /a",
            "POST /a",
            "GET /a/{id}",
            "GET /{proxy+}",
            "$default",
        ]);
    }
}
