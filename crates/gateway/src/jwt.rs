//! JWT authorizers' pure parts: the bearer token, a JSON Web Key Set's RSA keys, and a
//! token checked as API Gateway checks it (RS256/384/512 signature, `iss`, `aud` or
//! `client_id`, `exp`, `nbf`, `iat`), then its scopes against a route's.

use base64::Engine as _;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The largest token read; API Gateway limits headers far below this anyway.
pub const TOKEN_BYTES_MAX: usize = 16 * 1024;
/// The largest RSA modulus accepted, so a key set cannot make verification slow.
const MODULUS_BITS_MAX: usize = 8192;

/// Why a token or key set was refused. Every variant is a 401 but [`JwtError::Jwks`],
/// which is the authorizer's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token's alg {0} is not supported (RS256, RS384, RS512)")]
    Algorithm(String),
    #[error("no key in the key set matches the token's kid")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token's iss is not the authorizer's issuer")]
    Issuer,
    #[error("neither the token's aud nor client_id is one of the authorizer's audiences")]
    Audience,
    #[error("the token has no exp or has expired")]
    Expired,
    #[error("the token is not valid yet (nbf or iat in the future)")]
    NotYetValid,
    #[error("the key set is unusable: {0}")]
    Jwks(String),
}

/// The token in an identity source's value: without a `Bearer ` prefix, if any.
pub fn bearer_token(value: &str) -> &str {
    let v = value.trim();
    match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => v[7..].trim_start(),
        _ => v,
    }
}

/// One RSA key of a key set.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwk {
    pub kid: Option<String>,
    key: RsaPublicKey,
}

/// The RSA signing keys of a JSON Web Key Set (`{"keys": [...]}`); keys of other
/// types or uses are skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    pub fn parse(bytes: &[u8]) -> Result<Jwks, JwtError> {
        let bad = |why: &str| JwtError::Jwks(why.to_string());
        let v: Value = serde_json::from_slice(bytes).map_err(|_| bad("not JSON"))?;
        let keys = v["keys"].as_array().ok_or_else(|| bad("no keys array"))?;
        let mut out = Vec::new();
        for k in keys {
            if k["kty"] != "RSA" || k.get("use").is_some_and(|u| u != "sig") {
                continue;
            }
            let (Some(n), Some(e)) = (k["n"].as_str().and_then(b64), k["e"].as_str().and_then(b64))
            else {
                return Err(bad("an RSA key without n or e"));
            };
            let n = BigUint::from_bytes_be(&n);
            if n.bits() > MODULUS_BITS_MAX {
                return Err(bad("an RSA key is too large"));
            }
            let key = RsaPublicKey::new(n, BigUint::from_bytes_be(&e))
                .map_err(|e| JwtError::Jwks(format!("an RSA key is invalid: {e}")))?;
            out.push(Jwk {
                kid: k["kid"].as_str().map(str::to_string),
                key,
            });
        }
        Ok(Jwks { keys: out })
    }

    /// The keys a token with `kid` may be signed with: the one with that kid, or every
    /// key when the token names none.
    fn candidates<'a>(&'a self, kid: Option<&'a str>) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| kid.is_none() || k.kid.as_deref() == kid)
    }

    pub fn has_kid(&self, kid: Option<&str>) -> bool {
        self.candidates(kid).next().is_some()
    }
}

/// Base64url without padding (padding tolerated).
fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// A token split and decoded, not yet checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub alg: String,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Token {
    pub fn parse(token: &str) -> Result<Token, JwtError> {
        if token.len() > TOKEN_BYTES_MAX {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let json = |part: &str| -> Result<Map<String, Value>, JwtError> {
            let bytes = b64(part).ok_or(JwtError::Malformed)?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(JwtError::Malformed),
            }
        };
        let header = json(h)?;
        Ok(Token {
            alg: header
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            kid: header
                .get("kid")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims: json(p)?,
            signing_input: format!("{h}.{p}"),
            signature: b64(s).ok_or(JwtError::Malformed)?,
        })
    }

    /// Whether one of `jwks`'s keys signed this token.
    pub fn verify_signature(&self, jwks: &Jwks) -> Result<(), JwtError> {
        let input = self.signing_input.as_bytes();
        let (scheme, digest): (fn() -> Pkcs1v15Sign, Vec<u8>) = match self.alg.as_str() {
            "RS256" => (Pkcs1v15Sign::new::<Sha256>, Sha256::digest(input).to_vec()),
            "RS384" => (Pkcs1v15Sign::new::<Sha384>, Sha384::digest(input).to_vec()),
            "RS512" => (Pkcs1v15Sign::new::<Sha512>, Sha512::digest(input).to_vec()),
            other => return Err(JwtError::Algorithm(other.to_string())),
        };
        let mut any = false;
        for k in jwks.candidates(self.kid.as_deref()) {
            any = true;
            if k.key.verify(scheme(), &digest, &self.signature).is_ok() {
                return Ok(());
            }
        }
        Err(if any {
            JwtError::Signature
        } else {
            JwtError::UnknownKey
        })
    }

    /// Checks the claims: `iss` is `issuer`; `aud` (a string or array) holds one of
    /// `audience`, or without `aud`, `client_id` is one; `exp` is after `now_s`; `nbf`
    /// and `iat`, when present, are not after it.
    pub fn check_claims(
        &self,
        issuer: &str,
        audience: &[String],
        now_s: i64,
    ) -> Result<(), JwtError> {
        let c = &self.claims;
        if c.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(JwtError::Issuer);
        }
        let aud: Vec<&str> = match c.get("aud").or_else(|| c.get("client_id")) {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !aud.iter().any(|a| audience.iter().any(|x| x == a)) {
            return Err(JwtError::Audience);
        }
        let num = |name: &str| c.get(name).and_then(Value::as_f64);
        match num("exp") {
            Some(exp) if exp > now_s as f64 => {}
            _ => return Err(JwtError::Expired),
        }
        if num("nbf").is_some_and(|t| t > now_s as f64)
            || num("iat").is_some_and(|t| t > now_s as f64)
        {
            return Err(JwtError::NotYetValid);
        }
        Ok(())
    }

    /// The token's scopes: `scope` (space-separated) or `scp` (an array or a
    /// space-separated string).
    pub fn scopes(&self) -> Vec<String> {
        let split = |s: &str| s.split_whitespace().map(str::to_string).collect();
        match self.claims.get("scope").or_else(|| self.claims.get("scp")) {
            Some(Value::String(s)) => split(s),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => vec![],
        }
    }

    /// `requestContext.authorizer` for the integration: `{"jwt": {"claims", "scopes"}}`,
    /// claims as strings the way API Gateway passes them (arrays as `[a b]`).
    pub fn authorizer_context(&self) -> Value {
        let claims: Map<String, Value> = self
            .claims
            .iter()
            .map(|(k, v)| (k.clone(), json!(claim_string(v))))
            .collect();
        let scopes = self.scopes();
        json!({
            "jwt": {
                "claims": claims,
                "scopes": if scopes.is_empty() { Value::Null } else { json!(scopes) },
            }
        })
    }
}

fn claim_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(claim_string).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

/// Whether a token with `token_scopes` may call a route that asks for `route_scopes`:
/// a route without scopes takes any token; otherwise one scope in common is enough.
pub fn scopes_allow(route_scopes: &[String], token_scopes: &[String]) -> bool {
    route_scopes.is_empty() || route_scopes.iter().any(|s| token_scopes.contains(s))
}

#[cfg(test)]
#[path = "jwt_fixtures.rs"]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    const ISSUER: &str = "https://issuer.example";

    fn jwks() -> Jwks {
        Jwks::parse(JWKS.as_bytes()).unwrap()
    }

    /// Parses, verifies and checks `token` at `now_s` for audience `aud`.
    fn check(token: &str, aud: &str, now_s: i64, expected: Result<(), JwtError>) {
        let got = Token::parse(token).and_then(|t| {
            t.verify_signature(&jwks())?;
            t.check_claims(ISSUER, &[aud.to_string(), "other".into()], now_s)
        });
        assert_eq!(got, expected, "{token}");
    }

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn verification() {
        check(VALID, "api", NOW, Ok(()));
        check(CLIENT_ID, "app-client", NOW, Ok(()));
        check(VALID, "nope", NOW, Err(JwtError::Audience));
        check(VALID, "api", EXP + 1, Err(JwtError::Expired));
        check(VALID, "api", NBF - 1, Err(JwtError::NotYetValid));
        check(NO_EXP, "api", NOW, Err(JwtError::Expired));
        check(WRONG_ISSUER, "api", NOW, Err(JwtError::Issuer));
        check(OTHER_KID, "api", NOW, Err(JwtError::UnknownKey));
        // The payload of one token with the signature of another.
        let (head, _) = VALID.rsplit_once('.').unwrap();
        let (_, sig) = CLIENT_ID.rsplit_once('.').unwrap();
        check(
            &format!("{head}.{sig}"),
            "api",
            NOW,
            Err(JwtError::Signature),
        );
        // alg none, and garbage.
        let none = format!(
            "{}.{}.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            VALID.split('.').nth(1).unwrap()
        );
        check(&none, "api", NOW, Err(JwtError::Algorithm("none".into())));
        check("a.b", "api", NOW, Err(JwtError::Malformed));
        check("!!.!!.!!", "api", NOW, Err(JwtError::Malformed));
    }

    #[test]
    fn key_sets() {
        assert_eq!(jwks().keys.len(), 1);
        assert!(jwks().has_kid(Some("test-key")) && !jwks().has_kid(Some("x")));
        // Other key types are skipped; a broken RSA key is an error.
        let ec = r#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}"#;
        assert_eq!(Jwks::parse(ec.as_bytes()).unwrap().keys.len(), 0);
        assert!(matches!(
            Jwks::parse(br#"{"keys": [{"kty": "RSA"}]}"#),
            Err(JwtError::Jwks(_))
        ));
        assert!(matches!(Jwks::parse(b"[]"), Err(JwtError::Jwks(_))));
    }

    #[test]
    fn scopes_and_context() {
        let t = Token::parse(VALID).unwrap();
        assert_eq!(t.scopes(), ["read", "write"]);
        let c = Token::parse(CLIENT_ID).unwrap();
        assert_eq!(c.scopes(), ["admin"]);
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(scopes_allow(&[], &[]));
        assert!(scopes_allow(&s(&["write", "x"]), &t.scopes()));
        assert!(!scopes_allow(&s(&["admin"]), &t.scopes()));
        let ctx = t.authorizer_context();
        assert_eq!(ctx["jwt"]["claims"]["sub"], "user-1");
        assert_eq!(ctx["jwt"]["claims"]["exp"], EXP.to_string());
        assert_eq!(ctx["jwt"]["claims"]["groups"], "[a b]");
        assert_eq!(ctx["jwt"]["scopes"], json!(["read", "write"]));
    }

    #[test]
    fn bearer() {
        assert_eq!(bearer_token("Bearer abc"), "abc");
        assert_eq!(bearer_token("bearer  abc "), "abc");
        assert_eq!(bearer_token("abc"), "abc");
        assert_eq!(bearer_token("Bearer"), "Bearer");
    }
}
