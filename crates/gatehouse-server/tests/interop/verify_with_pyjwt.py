#!/usr/bin/env python3
"""Verify a Gatehouse access token with PyJWT, a JOSE implementation
Gatehouse does not use, the way a downstream service would: the key comes
from the tenant's JWKS URL (or, for HS256, the shared secret), the algorithm
is pinned, and iss, aud and the time claims are checked.

usage: verify_with_pyjwt.py TOKEN ISSUER AUDIENCE ALG [HS256_SECRET_B64URL]
Prints the verified claims as JSON; exits non-zero on any failure.
"""
import base64
import json
import sys

import jwt
from jwt import PyJWKClient


def main() -> int:
    token, issuer, audience, alg = sys.argv[1:5]
    secret = sys.argv[5] if len(sys.argv) > 5 else None
    if secret:
        key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    else:
        jwks = PyJWKClient(issuer + "/.well-known/jwks.json", cache_keys=False)
        key = jwks.get_signing_key_from_jwt(token).key
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        print(f"unexpected typ {header.get('typ')!r}", file=sys.stderr)
        return 1
    claims = jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "nbf", "sub", "jti", "iss", "aud"]},
    )
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
