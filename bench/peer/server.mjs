// The peer of `bench/compare.sh`: node oidc-provider, configured to do what
// Gatehouse does for a client-credentials grant and nothing more, so the two
// can be compared request for request (see bench/README.md, "Side by side").
//
//   - one confidential client, `client_secret_basic`, grant client_credentials
//     only, scopes `read write`;
//   - the access token is a JWT (`at+jwt`) signed with PEER_ALG (ES256 or
//     RS256) by a key generated at start, lifetime 900 s (Gatehouse's
//     DEFAULT_ACCESS_TTL_SECS). A JWT-format client-credentials token comes
//     from a resource server (`features.resourceIndicators`): the default
//     resource names it, `getResourceServerInfo` makes its tokens JWTs;
//   - the adapter is an in-memory Map that counts its writes: with JWT
//     tokens nothing is written per grant (`/stats` shows it; compare.sh
//     checks it), as Gatehouse stores nothing per grant either;
//   - one process (no cluster), no logging per request, NODE_ENV=production.
//
// Environment: PEER_PORT (the provider), PEER_STATS_PORT (a separate
// listener for the counters, so the measured server has no extra route),
// PEER_ALG, PEER_CLIENT_ID, PEER_CLIENT_SECRET. Loopback only.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`server.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('PEER_PORT'));
const statsPort = Number(env('PEER_STATS_PORT'));
const alg = env('PEER_ALG');
const clientId = env('PEER_CLIENT_ID');
const clientSecret = env('PEER_CLIENT_SECRET');
const ACCESS_TTL_SECS = 900; // Gatehouse: DEFAULT_ACCESS_TTL_SECS (15 min)
const RESOURCE = 'urn:gatehouse-bench:api';

// The same key types as a Gatehouse tenant: P-256 for ES256, RSA-2048 for RS256.
const keyPair = {
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
}[alg];
if (!keyPair) {
  console.error(`server.mjs: PEER_ALG must be ES256 or RS256, not ${alg}`);
  process.exit(2);
}
const jwk = { ...keyPair().privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `bench-${alg.toLowerCase()}` };

// Every adapter call is counted; the store is a plain Map (no expiry
// sweeps: the bench process lives for minutes).
const counts = { upsert: 0, find: 0, destroy: 0, other: 0 };
const stores = new Map();
class CountingAdapter {
  constructor(model) {
    this.model = model;
    if (!stores.has(model)) stores.set(model, new Map());
    this.store = stores.get(model);
  }

  async upsert(id, payload) { counts.upsert += 1; this.store.set(id, payload); }

  async find(id) { counts.find += 1; return this.store.get(id); }

  async findByUserCode() { counts.other += 1; return undefined; }

  async findByUid() { counts.other += 1; return undefined; }

  async consume(id) { counts.other += 1; const p = this.store.get(id); if (p) p.consumed = Math.floor(Date.now() / 1000); }

  async destroy(id) { counts.destroy += 1; this.store.delete(id); }

  async revokeByGrantId() { counts.other += 1; }
}

// The version actually installed (npm ci from package-lock.json), for the results.
const providerVersion = JSON.parse(readFileSync(
  new URL('node_modules/oidc-provider/package.json', import.meta.url),
  'utf8',
)).version;

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  adapter: CountingAdapter,
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    // Never used (no ID tokens here), but it must name a key the provider has.
    id_token_signed_response_alg: alg,
    scope: 'read write',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['read', 'write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) {
          throw new Error(`unknown resource ${resourceIndicator}`);
        }
        return {
          scope: 'read write',
          audience: RESOURCE,
          accessTokenTTL: ACCESS_TTL_SECS,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
  ttl: { ClientCredentials: ACCESS_TTL_SECS },
});

// Errors answered to a client are not logged by oidc-provider itself; a
// server error would show up as a non-2xx in the bench anyway.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(port, '127.0.0.1');
server.on('listening', () => console.log(`oidc-provider ${alg} listening on ${issuer}`));

const stats = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    alg,
    adapter_calls: counts,
    stored_entries: [...stores.values()].reduce((n, m) => n + m.size, 0),
    node: process.version,
    oidc_provider: providerVersion,
  }));
}).listen(statsPort, '127.0.0.1');

const stop = () => { server.close(); stats.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
