#!/usr/bin/env python3
"""Drive one Gatehouse tenant with Authlib, an OAuth 2.0 / OpenID Connect
client library Gatehouse does not use, with its strict defaults
(AUTHLIB_INSECURE_TRANSPORT unset: Authlib takes plain http only for
loopback hosts, which 127.0.0.1 is).

usage: oauth_with_authlib.py CONFIG_JSON

CONFIG_JSON (written by tests/api/oauth_interop.rs):
  {"issuer", "alg", "username", "password",
   "service": {"client_id", "client_secret", "scope"},
   "web": {"client_id", "client_secret", "redirect_uri"},
   "public": {"client_id", "redirect_uri"}}

What it checks, each with Authlib's own client
(authlib.integrations.requests_client.OAuth2Session):
  - discovery, validated by Authlib's OpenIDProviderMetadata;
  - client credentials with client_secret_basic and client_secret_post,
    and a wrong secret refused with invalid_client;
  - introspect_token and revoke_token;
  - the authorization code flow with PKCE (S256, Authlib's verifier) for a
    confidential and a public client: the hosted sign-in form is filled
    like a browser without JavaScript would (requests, cookies kept, the
    redirect back read from Location and never followed), the code
    exchanged by fetch_token(authorization_response=...);
  - the ID token, verified with authlib.jose against the JWKS named by the
    discovery document, its claims validated by authlib.oidc.core's
    CodeIDToken (iss, aud, nonce, at_hash, exp, iat, auth_time, azp);
  - userinfo and the refresh token grant.
Everything goes to the issuer's host (127.0.0.1); every request has a
timeout and the whole run an alarm. Exits 0 when all passed, else 1 with
the failed check on stderr.
"""
import json
import os
import signal
import sys
import time
import warnings
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

# Strict defaults: no opt-out of Authlib's transport check.
os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402

# Authlib 1.6+ marks authlib.jose deprecated in favour of joserfc (which
# it now uses inside); it still ships and works, and it is the API this
# test was asked to use. The warning is not a failure.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken  # noqa: E402
from authlib.oidc.discovery import OpenIDProviderMetadata  # noqa: E402

DEADLINE_SECS = 50  # under the 60 s the Rust side allows
HTTP_TIMEOUT = 10  # seconds, each request
PUBLIC_ALGS = {"RS256", "PS256", "ES256", "EdDSA"}


class Failed(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failed(message)


def step(name):
    print(f"-- {name}", file=sys.stderr)


class Loopback(requests.Session):
    """A requests session that ignores proxy variables (everything here
    goes to 127.0.0.1) and never waits without end."""

    def __init__(self):
        super().__init__()
        self.trust_env = False

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(method, url, **kwargs)


def oauth_session(**kwargs):
    s = OAuth2Session(**kwargs)
    s.trust_env = False
    s.default_timeout = HTTP_TIMEOUT
    return s


def token_response_hook(expect_basic, secret):
    """An access_token_response compliance hook that checks how Authlib
    authenticated the client on the wire."""

    def hook(resp):
        req = resp.request
        auth = req.headers.get("Authorization", "")
        body = req.body or ""
        if isinstance(body, bytes):
            body = body.decode()
        sent = parse_qs(body)
        if expect_basic:
            check(auth.startswith("Basic "), f"expected client_secret_basic, sent {auth!r}")
            check("client_secret" not in sent, "client_secret_basic also sent the secret in the body")
        else:
            check(not auth, f"expected client_secret_post, sent Authorization {auth!r}")
            check(sent.get("client_secret") == [secret], "client_secret_post did not send the secret")
        check(
            resp.headers.get("Cache-Control") == "no-store",
            f"token response Cache-Control {resp.headers.get('Cache-Control')!r}",
        )
        return resp

    return hook


# ---------------------------------------------------------------- discovery


def discover(http, issuer):
    step("discovery")
    r = http.get(issuer + "/.well-known/openid-configuration")
    check(r.status_code == 200, f"discovery: HTTP {r.status_code}: {r.text[:300]}")
    meta = OpenIDProviderMetadata(r.json())
    # Authlib's RFC 8414 + OIDC Discovery validation (issuer, endpoints,
    # response types, subject types, algorithms, ...), each rule run on
    # its own so that every complaint is seen, not only the first.
    deviations = []
    for key in meta.REGISTRY_KEYS:
        try:
            getattr(meta, f"validate_{key}")()
        except ValueError as e:
            deviations.append(str(e))
    # Known and reported: OIDC Discovery 1.0 §3 says RS256 MUST be in
    # id_token_signing_alg_values_supported, and Gatehouse lists only the
    # tenant's own algorithm (see the ignored reproduction in
    # tests/api/oauth_interop.rs). Anything else Authlib says fails.
    known = '"RS256" MUST be included in "id_token_signing_alg_values_supported"'
    for d in deviations:
        if d == known:
            print(f"KNOWN DEVIATION (Authlib OpenIDProviderMetadata): {d}", file=sys.stderr)
        else:
            raise Failed(f"Authlib rejects the discovery document: {d}")
    meta.deviations = [d for d in deviations if d == known]
    check(meta["issuer"] == issuer, f"issuer {meta['issuer']!r} != {issuer!r}")
    check(meta.get("authorization_response_iss_parameter_supported") is True, "no RFC 9207 flag")
    check("S256" in meta.get("code_challenge_methods_supported", []), "S256 not listed")
    return meta


# ------------------------------------------------------- client credentials


def client_credentials(meta, cfg):
    svc = cfg["service"]
    tokens = []
    for method in ("client_secret_basic", "client_secret_post"):
        step(f"client credentials, {method}")
        client = oauth_session(
            client_id=svc["client_id"],
            client_secret=svc["client_secret"],
            token_endpoint_auth_method=method,
            revocation_endpoint_auth_method=method,
            scope=svc["scope"],
        )
        client.register_compliance_hook(
            "access_token_response",
            token_response_hook(method == "client_secret_basic", svc["client_secret"]),
        )
        token = client.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        check(token.get("token_type", "").lower() == "bearer", f"token_type {token.get('token_type')!r}")
        check(token.get("access_token"), "no access_token")
        check(isinstance(token.get("expires_in"), int) and token["expires_in"] > 0, "bad expires_in")
        check("refresh_token" not in token, "client credentials must not get a refresh token")
        check(
            set(token.get("scope", "").split()) == set(svc["scope"].split()),
            f"scope {token.get('scope')!r}, asked {svc['scope']!r}",
        )
        check(not token.is_expired(), "Authlib thinks the new token has expired")

        step(f"introspection, {method}")
        r = client.introspect_token(
            meta["introspection_endpoint"], token=token["access_token"], token_type_hint="access_token"
        )
        check(r.status_code == 200, f"introspect: HTTP {r.status_code}: {r.text[:300]}")
        info = r.json()
        check(info.get("active") is True, f"introspection of a fresh token: {info}")
        check(info.get("client_id") == svc["client_id"], f"introspection client_id {info.get('client_id')!r}")
        check(info.get("sub") == svc["client_id"], f"introspection sub {info.get('sub')!r}")
        check(info.get("iss") == cfg["issuer"], f"introspection iss {info.get('iss')!r}")

        r = client.introspect_token(meta["introspection_endpoint"], token="not-a-token")
        check(r.status_code == 200 and r.json() == {"active": False}, f"unknown token: {r.text[:300]}")

        step(f"revocation, {method}")
        r = client.revoke_token(meta["revocation_endpoint"], token=token["access_token"])
        check(r.status_code == 200, f"revoke: HTTP {r.status_code}: {r.text[:300]}")
        tokens.append(token)

    step("client credentials, wrong secret")
    bad = oauth_session(client_id=svc["client_id"], client_secret="wrong-" + svc["client_secret"])
    try:
        bad.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    except OAuthError as e:
        check(e.error == "invalid_client", f"wrong secret: error {e.error!r} ({e.description})")
    else:
        raise Failed("a wrong client secret got a token")
    return tokens


# ------------------------------------------------------- the hosted sign-in


class FormReader(HTMLParser):
    """The first form's action and inputs, and the text of role=alert."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.method = None
        self.fields = []
        self.labels = {}
        self.alert = None
        self._in_alert = False
        self._label_for = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
            self.method = (a.get("method") or "get").lower()
        elif tag == "input" and a.get("name"):
            self.fields.append((a["name"], a.get("value") or "", a.get("type") or "text"))
        elif tag == "label":
            self._label_for = a.get("for")
        if a.get("role") == "alert":
            self._in_alert = True
            self.alert = ""

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_for = None
        if self._in_alert and tag in ("p", "div"):
            self._in_alert = False

    def handle_data(self, data):
        if self._label_for:
            self.labels[self._label_for] = self.labels.get(self._label_for, "") + data
        if self._in_alert:
            self.alert += data


def read_form(html):
    reader = FormReader()
    reader.feed(html)
    check(reader.action, "the sign-in page has no form")
    check(reader.method == "post", f"the sign-in form's method is {reader.method!r}")
    names = [n for n, _, _ in reader.fields]
    for needed in ("username", "password", "csrf_token"):
        check(needed in names, f"the sign-in form has no {needed!r} field: {names}")
    check(reader.labels.get("username", "").strip(), "the username field has no label")
    check(reader.labels.get("password", "").strip(), "the password field has no label")
    return reader


def post_form(browser, page_url, reader, username, password):
    fields = [(n, v) for n, v, _ in reader.fields if n not in ("username", "password")]
    fields += [("username", username), ("password", password)]
    return browser.post(urljoin(page_url, reader.action), data=fields, allow_redirects=False)


def sign_in(browser, url, cfg, redirect_uri):
    """Opens the authorization URL Authlib built; signs in if the form is
    shown. Returns the Location of the redirect back, not followed."""
    r = browser.get(url, allow_redirects=False)
    if r.status_code == 200:
        check("text/html" in r.headers.get("Content-Type", ""), "the sign-in page is not HTML")
        check(r.headers.get("Cache-Control") == "no-store", "the sign-in page may be cached")
        check("gatehouse_csrf" in browser.cookies, "no CSRF cookie with the form")
        reader = read_form(r.text)

        step("sign-in form, wrong password")
        wrong = post_form(browser, r.url, reader, cfg["username"], "not the password")
        check(wrong.status_code == 200, f"wrong password: HTTP {wrong.status_code}")
        again = read_form(wrong.text)
        check(
            again.alert and "The username or password is incorrect." in again.alert,
            f"wrong password: no alert, got {again.alert!r}",
        )

        step("sign-in form, right password")
        r = post_form(browser, wrong.url, again, cfg["username"], cfg["password"])
        check(r.status_code == 303, f"sign-in POST: HTTP {r.status_code}: {r.text[:300]}")
        check("gatehouse_session" in browser.cookies, "no browser session cookie after signing in")
    else:
        step("authorize again, signed in already")
        check(r.status_code == 302, f"authorize: HTTP {r.status_code}: {r.text[:300]}")
    location = r.headers.get("Location", "")
    check(location.startswith(redirect_uri + "?"), f"redirected to {location!r}, not {redirect_uri!r}")
    return location


# --------------------------------------------------------------- ID tokens


def flip_signature(jws):
    head, body, sig = jws.split(".")
    sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    return ".".join((head, body, sig))


def validate_id_token(meta, jwks, cfg, token, client_id, nonce):
    """authlib.jose verifies the signature with the key named by `kid`,
    only for the tenant's algorithm; CodeIDToken validates the claims."""
    alg = cfg["alg"]
    key_set = JsonWebKey.import_key_set(jwks)
    jwt = JsonWebToken([alg])

    def decode(nonce, access_token, aud, id_token=token["id_token"]):
        claims = jwt.decode(
            id_token,
            key_set,
            claims_cls=CodeIDToken,
            claims_options={
                "iss": {"essential": True, "value": meta["issuer"]},
                "aud": {"essential": True, "value": aud},
                "sub": {"essential": True},
                "nonce": {"essential": True},
                "at_hash": {"essential": True},
                "auth_time": {"essential": True},
            },
            claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(leeway=5)
        return claims

    claims = decode(nonce, token["access_token"], client_id)
    header = claims.header
    check(header.get("alg") == alg, f"ID token alg {header.get('alg')!r}, tenant signs {alg}")
    check(header.get("typ") == "JWT", f"ID token typ {header.get('typ')!r}")
    check(any(k.get("kid") == header.get("kid") for k in jwks["keys"]), "ID token kid not in the JWKS")
    check(alg in meta["id_token_signing_alg_values_supported"], f"{alg} not in discovery")
    check(claims.get("sid"), "ID token has no sid")
    check(abs(claims["auth_time"] - time.time()) < 120, f"auth_time {claims['auth_time']} is not now")

    # The checks bite: a wrong nonce, another access token or another
    # audience must each fail under the same validation.
    for what, args in (
        ("a wrong nonce", ("not-" + nonce, token["access_token"], client_id)),
        ("another access token's at_hash", (nonce, token["access_token"] + "x", client_id)),
        ("another audience", (nonce, token["access_token"], client_id + "-other")),
        ("a changed signature", (nonce, token["access_token"], client_id, flip_signature(token["id_token"]))),
    ):
        try:
            decode(*args)
        except Exception:  # joserfc's claim errors
            pass
        else:
            raise Failed(f"CodeIDToken validation accepted {what}")
    return claims


# ------------------------------------------------------------ the code flow


def code_flow(meta, jwks, cfg, browser, which):
    client_cfg = cfg[which]
    confidential = "client_secret" in client_cfg
    redirect_uri = client_cfg["redirect_uri"]
    step(f"code flow, {which} client")
    client = oauth_session(
        client_id=client_cfg["client_id"],
        client_secret=client_cfg.get("client_secret"),
        token_endpoint_auth_method="client_secret_basic" if confidential else "none",
        revocation_endpoint_auth_method="client_secret_basic" if confidential else "none",
        scope="openid profile email offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )
    # Authlib's own generator: 48 characters of its unreserved set, as
    # its documentation shows for PKCE.
    code_verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    q = parse_qs(urlsplit(url).query)
    check(q.get("code_challenge_method") == ["S256"], f"Authlib built {url}")
    check(urlsplit(url).netloc == urlsplit(cfg["issuer"]).netloc, "authorize URL leaves the issuer's host")

    location = sign_in(browser, url, cfg, redirect_uri)
    back = parse_qs(urlsplit(location).query)
    # RFC 9207: Authlib does not check `iss`, so the script does.
    check(back.get("iss") == [meta["issuer"]], f"redirect iss {back.get('iss')!r}")
    check(back.get("state") == [state], f"redirect state {back.get('state')!r}, sent {state!r}")

    token = client.fetch_token(
        meta["token_endpoint"],
        authorization_response=location,
        state=state,
        code_verifier=code_verifier,
    )
    check(token.get("token_type", "").lower() == "bearer", f"token_type {token.get('token_type')!r}")
    for name in ("access_token", "id_token", "refresh_token"):
        check(token.get(name), f"the code exchange gave no {name}: {sorted(token)}")
    check("openid" in token.get("scope", "").split(), f"scope {token.get('scope')!r}")

    step(f"ID token, {which} client")
    claims = validate_id_token(meta, jwks, cfg, token, client_cfg["client_id"], nonce)

    step(f"userinfo, {which} client")
    r = client.get(meta["userinfo_endpoint"])
    check(r.status_code == 200, f"userinfo: HTTP {r.status_code}: {r.text[:300]}")
    info = r.json()
    check(info.get("sub") == claims["sub"], f"userinfo sub {info.get('sub')!r} != ID token sub")
    check(info.get("preferred_username") == cfg["username"], f"userinfo {info}")

    step(f"refresh, {which} client")
    old_refresh = token["refresh_token"]
    refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    check(refreshed.get("access_token") and refreshed["access_token"] != token["access_token"], "no new access token")
    check(refreshed.get("refresh_token") not in (None, old_refresh), "the refresh token was not rotated")

    if which == "public":
        # RFC 6749 §4.1.2: a code used twice is refused, and what it
        # issued is revoked (the refreshed tokens too, being its session).
        step("the same code again, public client")
        try:
            client.fetch_token(
                meta["token_endpoint"], authorization_response=location, state=state, code_verifier=code_verifier
            )
        except OAuthError as e:
            check(e.error == "invalid_grant", f"a reused code: error {e.error!r} ({e.description})")
        else:
            raise Failed("a code worked twice")
        try:
            client.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
        except OAuthError as e:
            check(e.error == "invalid_grant", f"after a reused code: error {e.error!r} ({e.description})")
        else:
            raise Failed("the tokens of a reused code still refresh")
    return client, refreshed


def introspect_and_revoke(meta, cfg, web_client, web_token):
    svc = cfg["service"]
    step("introspection of a user's token")
    introspector = oauth_session(client_id=svc["client_id"], client_secret=svc["client_secret"])
    r = introspector.introspect_token(meta["introspection_endpoint"], token=web_token["access_token"])
    info = r.json()
    check(info.get("active") is True, f"introspection of the user's token: {info}")
    check(info.get("username") == cfg["username"], f"introspection username {info.get('username')!r}")
    check(info.get("client_id") == cfg["web"]["client_id"], f"introspection client_id {info.get('client_id')!r}")

    step("revocation of a user's refresh token")
    r = web_client.revoke_token(
        meta["revocation_endpoint"], token=web_token["refresh_token"], token_type_hint="refresh_token"
    )
    check(r.status_code == 200, f"revoke: HTTP {r.status_code}: {r.text[:300]}")
    for kind in ("refresh_token", "access_token"):
        r = introspector.introspect_token(meta["introspection_endpoint"], token=web_token[kind])
        check(r.json() == {"active": False}, f"the {kind} of a revoked session: {r.text[:300]}")
    try:
        web_client.refresh_token(meta["token_endpoint"], refresh_token=web_token["refresh_token"])
    except OAuthError as e:
        check(e.error == "invalid_grant", f"a revoked refresh token: error {e.error!r} ({e.description})")
    else:
        raise Failed("a revoked refresh token still worked")


def main():
    cfg = json.loads(sys.argv[1])
    check(cfg["alg"] in PUBLIC_ALGS, f"no public-key algorithm: {cfg['alg']}")
    check(urlsplit(cfg["issuer"]).hostname == "127.0.0.1", "the issuer must be on 127.0.0.1")
    http = Loopback()
    meta = discover(http, cfg["issuer"])
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
                 "introspection_endpoint", "revocation_endpoint"):
        check(urlsplit(meta[name]).netloc == urlsplit(cfg["issuer"]).netloc, f"{name} is elsewhere")
    jwks = http.get(meta["jwks_uri"]).json()

    client_credentials(meta, cfg)

    browser = Loopback()  # one cookie jar: the user's browser
    web_client, web_token = code_flow(meta, jwks, cfg, browser, "web")
    # Signed in already: the public client's authorize skips the form.
    code_flow(meta, jwks, cfg, browser, "public")
    introspect_and_revoke(meta, cfg, web_client, web_token)
    print(json.dumps({"ok": True, "alg": cfg["alg"], "issuer": cfg["issuer"],
                      "discovery_deviations": meta.deviations}))


def on_alarm(signum, frame):
    raise Failed(f"took over {DEADLINE_SECS} s")


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(DEADLINE_SECS)
    try:
        main()
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except OAuthError as e:
        print(f"FAILED: Authlib OAuthError {e.error!r}: {e.description}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # anything Authlib or requests raised
        import traceback

        traceback.print_exc()
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
