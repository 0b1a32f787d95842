// Verifies one access token against its issuer's JWKS with `jose` (a JOSE
// library neither side uses to issue), and prints its header and claims as
// JSON. bench/compare.sh runs it on one Gatehouse token and one peer token
// before measuring, so the two sides are known to issue comparable,
// verifiable tokens.
//
// Usage: node verify.mjs JWKS_URL TOKEN ISSUER ALG
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, token, issuer, alg] = process.argv.slice(2);
if (!alg) {
  console.error('usage: node verify.mjs JWKS_URL TOKEN ISSUER ALG');
  process.exit(2);
}
try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, algorithms: [alg] });
  console.log(JSON.stringify({ header: protectedHeader, payload }));
} catch (err) {
  console.error(`verify.mjs: the token does not verify against ${jwksUrl}: ${err.message}`);
  process.exit(1);
}
