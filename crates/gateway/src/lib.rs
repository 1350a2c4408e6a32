//! The pure core behind Lambda function URLs, API Gateway HTTP APIs (v2) and
//! REST proxy APIs (v1): choose a route, build the Lambda event, turn the
//! function's result into an HTTP response, and apply CORS.
//!
//! A server using it does, per request:
//!
//! 1. [`Cors::preflight`], if the API or URL has CORS configured; an answer ends here.
//! 2. [`RouteTable::find`] (function URLs skip this: everything is `$default`);
//!    no match is [`not_found`]. A route with an authorizer runs it next
//!    ([`authorizer`] for Lambda authorizers, [`jwt`] for JWT authorizers).
//! 3. [`event_v2`] or [`event_v1`], then invoke the function with that event.
//! 4. [`response_v2`] or [`response_v1`] on its result, or [`function_error`],
//!    [`throttled`], [`timeout`] when the invoke failed.
//! 5. [`Cors::apply`] on the response.
//!
//! ```
//! use gateway::{event_v2, response_v2, EventContext, HttpRequest, RouteTable};
//!
//! let routes = RouteTable::new(&["GET /items/{id}".to_string(), "$default".to_string()])?;
//! let found = routes.find("GET", "/items/42").unwrap();
//! assert_eq!(found.path_parameters, [("id".to_string(), "42".to_string())]);
//!
//! let req = HttpRequest { method: "GET".into(), raw_path: "/items/42".into(), ..Default::default() };
//! let ctx = EventContext { route_key: found.route_key, path_parameters: found.path_parameters, ..Default::default() };
//! let event = event_v2(&req, &ctx);
//! assert_eq!(event["pathParameters"]["id"], "42");
//!
//! let resp = response_v2(br#"{"statusCode": 201, "body": "made"}"#);
//! assert_eq!((resp.status, &resp.body[..]), (201, &b"made"[..]));
//! # Ok::<(), gateway::RouteError>(())
//! ```
//!
//! Invariant: no IO, no clock, no HTTP server. Requests and responses are plain
//! data; the request's arrival time and id come in from the caller.

pub mod authorizer;
mod cors;
mod event;
pub mod jwt;
mod request;
mod response;
mod route;

pub use cors::Cors;
pub use event::{body_is_text, event_v1, event_v2, EventContext, IamCaller};
pub use request::{query_pairs, HttpRequest};
pub use response::{
    function_error, not_found, parse_v1, parse_v2, response_v1, response_v2, throttled, timeout,
    timeout_rest, HttpResponse, MalformedResponse,
};
pub use route::{RouteError, RouteMatch, RouteTable, DEFAULT_ROUTE};
