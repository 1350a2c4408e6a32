"""Writes crates/gateway/src/jwt_fixtures.rs: the public JWK of an RSA key made for
these tests only, and tokens signed with it. The private key is made fresh on every
run and never written anywhere, so rerunning this changes every fixture.

Run with the e2e venv (it has the pure-Python `rsa` package, a dependency of awscli):

    .venv/bin/python scripts/jwt_test_fixtures.py
"""

import base64
import json
import pathlib

import rsa

ISSUER = "https://issuer.example"
EXP = 2_000_000_000
NBF = 1_600_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def main() -> None:
    public, private = rsa.newkeys(2048)

    def token(claims: dict, kid: str = "test-key") -> str:
        header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        return signing_input + "." + b64(rsa.sign(signing_input.encode(), private, "SHA-256"))

    base = {"iss": ISSUER, "sub": "user-1", "exp": EXP, "nbf": NBF, "iat": NBF}
    fixtures = {
        "VALID": token({**base, "aud": ["api"], "scope": "read write", "groups": ["a", "b"]}),
        "CLIENT_ID": token({**base, "client_id": "app-client", "scp": ["admin"]}),
        "NO_EXP": token({k: v for k, v in base.items() if k != "exp"} | {"aud": "api"}),
        "WRONG_ISSUER": token({**base, "iss": "https://evil.example", "aud": "api"}),
        "OTHER_KID": token({**base, "aud": "api"}, kid="other-key"),
    }
    jwks = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key", "n": int_b64(public.n), "e": int_b64(public.e)}]}
    out = [
        "//! Test-only fixtures made by `scripts/jwt_test_fixtures.py`: the public key of an",
        "//! RSA key pair whose private half was thrown away, and tokens it signed.",
        "",
        f"pub const JWKS: &str = r#\"{json.dumps(jwks)}\"#;",
        f"pub const EXP: i64 = {EXP};",
        f"pub const NBF: i64 = {NBF};",
    ]
    for name, value in fixtures.items():
        out.append(f'pub const {name}: &str = "{value}";')
    path = pathlib.Path(__file__).resolve().parent.parent / "crates/gateway/src/jwt_fixtures.rs"
    path.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
