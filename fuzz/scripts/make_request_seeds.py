#!/usr/bin/env python3
"""Writes the seed corpus of the `request_bodies` fuzz target.

Usage: python3 fuzz/scripts/make_request_seeds.py [OUT_DIR]
(default: fuzz/seeds/request_bodies next to this script).

Each seed is one selector byte and a payload (see the header comment of
fuzz_targets/request_bodies.rs):
  bits 0-3 route, bits 4-5 content-type variant, bit 6 tenant, bit 7 amplify.
"""
import json
import os
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "seeds", "request_bodies")

REGISTER, LOGIN, TOKEN, LOGOUT_BEARER, LOGOUT_BODY, AUTH_BEARER, AUTH_SPLICE, \
    AUTH_QUERY, ADMIN_CREATE, ADMIN_LIST, ANY, LOGOUT_SPLICE = range(12)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

seeds = {}


def sel(route, ct=0, tenant=0, amplify=False):
    return route | (ct << 4) | (tenant << 6) | (0x80 if amplify else 0)


def add(name, selector, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    seeds[name] = bytes([selector]) + payload


def j(v):
    return json.dumps(v, separators=(",", ":"))


PW = "correct horse battery staple"
bodies = {
    "ok": j({"username": "alice", "password": PW, "email": "alice@example.test",
             "first_name": "Alice", "last_name": "Liddell"}),
    "min": j({"username": "bob", "password": PW}),
    "short-pw": j({"username": "carol", "password": "short"}),
    "unknown-field": j({"username": "dave", "password": PW, "emial": "x"}),
    "wrong-type": j({"username": 42, "password": PW}),
    "nested": j({"username": {"$gt": ""}, "password": PW}),
    "null-pw": j({"username": "eve", "password": None}),
    "unicode": j({"username": "İstanbul-ß-\u202e", "password": "pässwörd✓✓"}),
    "nul": '{"username":"nul\\u0000byte","password":"12345678"}',
    "ctl-name": j({"username": "frank", "password": PW, "first_name": "a\u0007b"}),
    "bad-email": j({"username": "gina", "password": PW, "email": "a@b@c"}),
    "array": "[]",
    "null": "null",
    "empty": "",
    "garbage": b"\xff\xfe{",
    "deep": "[" * 200 + "]" * 200,
    "big-number": '{"username":"h","password":1e999}',
    "dup": '{"username":"x","username":"y","password":"12345678"}',
    "lone-surrogate": '{"username":"\\ud800","password":"12345678"}',
}
for name, body in bodies.items():
    add(f"register-{name}", sel(REGISTER), body)
    add(f"login-{name}", sel(LOGIN), body)
add("register-acme", sel(REGISTER, tenant=1), bodies["ok"])
add("register-no-ct", sel(REGISTER, ct=1), bodies["ok"])
add("register-form-ct", sel(REGISTER, ct=2), bodies["ok"])
add("register-odd-ct", sel(REGISTER, ct=3), bodies["ok"])
add("register-huge", sel(REGISTER, amplify=True), "{\"username\":\"")
add("login-fuzzer", sel(LOGIN), j({"username": "fuzzer", "password": PW}))
add("login-email", sel(LOGIN), j({"email": "fuzzer@example.test", "password": PW}))
add("login-scope", sel(LOGIN), j({"username": "fuzzer", "password": PW, "scope": "openid a\"b"}))
add("login-acme", sel(LOGIN, tenant=1), j({"username": "fuzzer", "password": PW, "scope": "x y"}))
add("login-empty-names", sel(LOGIN), j({"username": "", "email": "", "password": PW}))

forms = {
    "password": f"grant_type=password&username=fuzzer&password={PW.replace(' ', '+')}",
    "password-scope": "grant_type=password&username=fuzzer&password=x&scope=%22",
    "refresh": "grant_type=refresh_token&refresh_token=abc",
    "refresh-missing": "grant_type=refresh_token",
    "unsupported": "grant_type=client_credentials&client_id=x",
    "none": "username=x",
    "dup": "grant_type=password&grant_type=refresh_token",
    "bad-utf8": b"grant_type=%ff%fe&refresh_token=\xff",
    "empty": "",
    "json": j({"grant_type": "password"}),
}
for name, body in forms.items():
    add(f"token-{name}", sel(TOKEN), body)
add("token-acme", sel(TOKEN, tenant=1), forms["password"])
add("token-json-ct", sel(TOKEN, ct=2), forms["password"])
add("token-no-ct", sel(TOKEN, ct=1), forms["password"])
add("token-latin1", sel(TOKEN, ct=3), forms["password"])
add("token-huge", sel(TOKEN, amplify=True), "grant_type=password&")

for name, tok in {"opaque": "abcdef", "jwtish": "a.b.c", "empty": "", "spaces": "   x  ",
                  "latin1": b"\xe9\xe8", "dots": "...."}.items():
    add(f"logout-bearer-{name}", sel(LOGOUT_BEARER), tok)
    add(f"auth-bearer-{name}", sel(AUTH_BEARER), tok)
    add(f"admin-list-{name}", sel(ADMIN_LIST), tok)
add("admin-list-token", sel(ADMIN_LIST), "fuzz-admin-token-0123456789")
for name, body in {"ok": j({"refresh_token": "abc"}), "wrong": j({"refresh_token": 1}),
                   "empty": "", "garbage": "x", "extra": j({"refresh_token": "a", "x": 1})}.items():
    add(f"logout-body-{name}", sel(LOGOUT_BODY), body)
add("logout-body-huge", sel(LOGOUT_BODY, amplify=True), "x")
for part in range(3):
    for name, rest in {"empty": "", "junk": "eyJhbGciOiJub25lIn0", "dot": "a.b"}.items():
        add(f"auth-splice-{part}-{name}", sel(AUTH_SPLICE), bytes([part]) + rest.encode())
        add(f"logout-splice-{part}-{name}", sel(LOGOUT_SPLICE), bytes([part]) + rest.encode())
    add(f"auth-splice-acme-{part}", sel(AUTH_SPLICE, tenant=1), bytes([part]) + b"x")
for name, q in {"check": "session=check", "other": "session=yes", "dup": "session=check&session=x",
                "bad": "session=%zz", "empty": "", "junk": "a=b&c"}.items():
    add(f"auth-query-{name}", sel(AUTH_QUERY), q)
    add(f"auth-query-acme-{name}", sel(AUTH_QUERY, tenant=1), q)

tenants = {
    "ok": j({"name": "t1", "algorithm": "HS256", "access_ttl": "15m", "audiences": ["api"]}),
    "bad-name": j({"name": "Bad_Name"}),
    "bad-alg": j({"name": "t2", "algorithm": "none"}),
    "bad-ttl": j({"name": "t3", "access_ttl": "forever"}),
    "huge-ttl": j({"name": "t4", "access_ttl": "99999999999999999999s"}),
    "ttl-overflow": j({"name": "t5", "access_ttl": "18446744073709551615s"}),
    "bad-aud": j({"name": "t6", "audiences": [""]}),
    "unknown": j({"name": "t7", "x": 1}),
    "exists": j({"name": "default"}),
    "empty": "",
}
for name, body in tenants.items():
    add(f"admin-create-{name}", sel(ADMIN_CREATE), body)

anys = [
    ("GET", "/healthz", ""), ("GET", "/readyz", ""),
    ("GET", "/t/default/.well-known/jwks.json", ""),
    ("GET", "/t/acme/.well-known/openid-configuration", ""),
    ("GET", "/t/nope/.well-known/jwks.json", ""),
    ("GET", "/t/Default/auth", ""), ("GET", "/t//register", ""),
    ("GET", "/t/%00/auth", ""), ("GET", "/t/default/../../etc/passwd", ""),
    ("GET", "/admin/t/default/keys", ""), ("GET", "/admin/t/nope/keys", ""),
    ("POST", "/admin/t/nope/keys/rotate", ""),
    ("POST", "/admin/t/nope/keys/rotate", j({"algorithm": "EdDSA", "immediately": True})),
    ("POST", "/admin/t/default/keys/rotate", "{"),
    ("DELETE", "/t/default/register", ""), ("PUT", "/admin/tenants", "{}"),
    ("PATCH", "/t/default/login", "{}"), ("OPTIONS", "/t/default/token", ""),
    ("HEAD", "/t/default/auth", ""), ("GET", "/nowhere", ""),
    ("GET", "/t/default/auth?session=check", ""),
]
for i, (m, path, body) in enumerate(anys):
    add(f"any-{i:02}-{m.lower()}", sel(ANY), bytes([METHODS.index(m)]) + f"{path}\n{body}".encode())

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
