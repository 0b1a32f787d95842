#!/usr/bin/env node
// Drives one Gatehouse tenant with Node's openid-client (v6, certified OpenID
// Connect relying party; Gatehouse does not use it): discovery from the
// issuer URL, the authorization code flow with PKCE, state and nonce, its
// own ID-token and RFC 9207 `iss` checks, userinfo, the refresh token grant,
// introspection and revocation, for a confidential client
// (client_secret_basic) and a public one (none).
//
// usage: node openid_client_flow.mjs CONFIG_JSON
//   CONFIG_JSON (from tests/api/oauth_interop.rs): {issuer, alg, username,
//   password, web: {client_id, client_secret, redirect_uri},
//   public: {client_id, redirect_uri}}
//
// The hosted sign-in form is driven with fetch like a browser without
// JavaScript: redirects not followed, cookies carried by hand; the redirect
// back to the (fake) redirect URI is read from Location, never followed.
// Everything goes to 127.0.0.1. Prints a JSON summary and exits 0 when all
// passed; else prints the failed check on stderr and exits 1.

import * as client from 'openid-client'

const DEADLINE_MS = 50_000 // under the 60 s the Rust side allows
const HTTP_TIMEOUT_MS = 10_000

const deadline = setTimeout(() => {
  console.error(`FAILED: took over ${DEADLINE_MS / 1000} s`)
  process.exit(1)
}, DEADLINE_MS)
deadline.unref()

class Failed extends Error {}

function check(cond, message) {
  if (!cond) throw new Failed(message)
}

function step(name) {
  console.error(`-- ${name}`)
}

/** What openid-client (or oauth4webapi under it) said, in full. */
function describe(e) {
  const parts = [`${e?.name ?? 'Error'}: ${e?.message ?? e}`]
  if (e?.code) parts.push(`code=${e.code}`)
  if (e?.error) parts.push(`error=${e.error}`)
  if (e?.error_description) parts.push(`error_description=${e.error_description}`)
  if (e?.status) parts.push(`status=${e.status}`)
  if (e?.cause?.message) parts.push(`cause: ${e.cause.message}`)
  if (e?.cause && !(e.cause instanceof Response)) {
    try {
      parts.push(`cause=${JSON.stringify(e.cause).slice(0, 600)}`)
    } catch {
      parts.push(`cause=${e.cause}`)
    }
  }
  return parts.join(' | ')
}

/** Expects `promise` to reject; returns the error. */
async function rejects(promise, what) {
  try {
    await promise
  } catch (e) {
    return e
  }
  throw new Failed(`openid-client accepted ${what}`)
}

// ------------------------------------------------------------ a browser

/** A cookie jar and fetch without following redirects. */
class Browser {
  constructor() {
    this.cookies = new Map()
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  keep(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (!value || /max-age=0/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  async request(url, init = {}) {
    const u = new URL(url)
    check(u.hostname === '127.0.0.1', `the browser was sent off the machine: ${url}`)
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('cookie', this.cookieHeader())
    const res = await fetch(u, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    })
    this.keep(res)
    return res
  }
}

const entities = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }
const unescape = (s) => s.replace(/&(amp|lt|gt|quot|#39);/g, (m) => entities[m])

/** The sign-in form's action and fields. */
function readForm(html) {
  const form = html.match(/<form\b[^>]*>/i)
  check(form, 'the sign-in page has no form')
  const action = form[0].match(/\baction="([^"]*)"/i)
  check(action, 'the sign-in form has no action')
  const fields = []
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = input[0].match(/\bname="([^"]*)"/i)
    const value = input[0].match(/\bvalue="([^"]*)"/i)
    if (name) fields.push([unescape(name[1]), value ? unescape(value[1]) : ''])
  }
  for (const needed of ['username', 'password', 'csrf_token']) {
    check(fields.some(([n]) => n === needed), `the sign-in form has no ${needed} field`)
  }
  return { action: unescape(action[1]), fields }
}

/** Opens the authorization URL; signs in when the form is shown. The
 * redirect back (Location), not followed. */
async function signIn(browser, url, cfg, redirectUri) {
  let res = await browser.request(url)
  if (res.status === 200) {
    const html = await res.text()
    const form = readForm(html)
    const body = new URLSearchParams(form.fields.filter(([n]) => n !== 'username' && n !== 'password'))
    body.set('username', cfg.username)
    body.set('password', cfg.password)
    res = await browser.request(new URL(form.action, url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    check(res.status === 303, `sign-in POST: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`)
  } else {
    check(res.status === 302, `authorize: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`)
  }
  const location = res.headers.get('location') ?? ''
  check(location.startsWith(`${redirectUri}?`), `redirected to ${location}, not ${redirectUri}`)
  return new URL(location)
}

// ------------------------------------------------------------ the flows

async function discover(cfg, clientId, secret, auth) {
  return client.discovery(new URL(cfg.issuer), clientId, secret, auth, {
    // openid-client v6 is HTTPS-only by default; the test server is a
    // loopback http issuer (http://127.0.0.1:PORT/t/NAME), so its
    // documented opt-out is used, for this configuration only.
    execute: [client.allowInsecureRequests],
    timeout: HTTP_TIMEOUT_MS / 1000,
  })
}

async function codeFlow(cfg, config, browser, clientCfg, label) {
  step(`code flow, ${label} client`)
  const redirectUri = clientCfg.redirect_uri
  const codeVerifier = client.randomPKCECodeVerifier()
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  const callback = await signIn(browser, url, cfg, redirectUri)
  check(callback.searchParams.get('iss') === cfg.issuer, `callback iss ${callback.searchParams.get('iss')}`)

  // openid-client's checks of the authorization response bite before it
  // spends the code: a wrong or missing RFC 9207 `iss`, a wrong state.
  const wrongIss = new URL(callback)
  wrongIss.searchParams.set('iss', `${cfg.issuer}-evil`)
  const noIss = new URL(callback)
  noIss.searchParams.delete('iss')
  for (const [what, cb, checks, reason] of [
    ['a callback with another iss', wrongIss, { expectedState: state }, /unexpected "iss"/],
    ['a callback without iss', noIss, { expectedState: state }, /"iss" \(issuer\) missing/],
    ['a callback with another state', callback, { expectedState: `${state}x` }, /"state"/],
  ]) {
    const e = await rejects(
      client.authorizationCodeGrant(config, cb, { ...checks, pkceCodeVerifier: codeVerifier, expectedNonce: nonce }),
      what,
    )
    check(reason.test(e?.cause?.message ?? ''), `${what} was refused for another reason: ${describe(e)}`)
  }

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  })
  check(tokens.token_type?.toLowerCase() === 'bearer', `token_type ${tokens.token_type}`)
  check(tokens.access_token && tokens.refresh_token && tokens.id_token, 'missing tokens')
  check(tokens.expiresIn() > 0, 'expires_in')
  const claims = tokens.claims()
  check(claims.iss === cfg.issuer, `ID token iss ${claims.iss}`)
  check(claims.aud === config.clientMetadata().client_id || claims.aud?.includes?.(clientCfg.client_id), 'aud')
  check(claims.nonce === nonce, 'nonce')
  check(typeof claims.at_hash === 'string' && claims.at_hash.length > 0, 'no at_hash')
  check(typeof claims.auth_time === 'number', 'no auth_time')
  check(typeof claims.sid === 'string' && claims.sid.length > 0, 'no sid')
  const alg = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg
  check(alg === cfg.alg, `ID token alg ${alg}, tenant signs ${cfg.alg}`)

  step(`userinfo, ${label} client`)
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  check(info.sub === claims.sub, 'userinfo sub')
  check(info.preferred_username === cfg.username, `userinfo ${JSON.stringify(info)}`)
  // And with another expected subject it must refuse.
  await rejects(client.fetchUserInfo(config, tokens.access_token, `${claims.sub}x`), 'userinfo of another subject')

  step(`refresh, ${label} client`)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  check(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'no new access token')
  check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh token not rotated')
  if (refreshed.id_token) {
    check(refreshed.claims().sub === claims.sub, 'refreshed ID token sub')
  }
  return { tokens, refreshed, claims }
}

async function wrongNonce(cfg, config, browser, clientCfg) {
  // The nonce is checked in the ID token, after the exchange.
  step('ID token with an unexpected nonce')
  const codeVerifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: clientCfg.redirect_uri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce: client.randomNonce(),
  })
  const callback = await signIn(browser, url, cfg, clientCfg.redirect_uri)
  const e = await rejects(
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: client.randomNonce(),
    }),
    'an ID token with another nonce',
  )
  const claim = e?.cause?.cause?.claim ?? e?.cause?.claim
  check(
    e.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && claim === 'nonce',
    `a wrong nonce failed for another reason: ${describe(e)} (claim ${claim})`,
  )
}

async function main() {
  const cfg = JSON.parse(process.argv[2])
  check(new URL(cfg.issuer).hostname === '127.0.0.1', 'the issuer must be on 127.0.0.1')

  step('discovery, HTTPS-only by default')
  const e = await rejects(
    client.discovery(new URL(cfg.issuer), cfg.web.client_id, cfg.web.client_secret),
    'an http issuer without allowInsecureRequests',
  )
  check(e.code === 'OAUTH_HTTP_REQUEST_FORBIDDEN', `unexpected refusal: ${describe(e)}`)

  step('discovery')
  const web = await discover(cfg, cfg.web.client_id, cfg.web.client_secret, client.ClientSecretBasic(cfg.web.client_secret))
  const meta = web.serverMetadata()
  check(meta.issuer === cfg.issuer, `issuer ${meta.issuer}`)
  check(meta.authorization_response_iss_parameter_supported === true, 'RFC 9207 flag')
  check(meta.supportsPKCE('S256'), 'discovery does not list S256')
  for (const name of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
    'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    check(new URL(meta[name]).host === new URL(cfg.issuer).host, `${name} is elsewhere`)
  }

  const browser = new Browser()
  const confidential = await codeFlow(cfg, web, browser, cfg.web, 'confidential')
  check(browser.cookies.has('gatehouse_session'), 'no browser session cookie')

  step('introspection')
  const active = await client.tokenIntrospection(web, confidential.refreshed.access_token)
  check(active.active === true, `introspection ${JSON.stringify(active)}`)
  check(active.client_id === cfg.web.client_id, 'introspection client_id')
  check(active.username === cfg.username, 'introspection username')

  step('revocation')
  await client.tokenRevocation(web, confidential.refreshed.refresh_token, { token_type_hint: 'refresh_token' })
  const gone = await client.tokenIntrospection(web, confidential.refreshed.access_token)
  check(gone.active === false, `after revocation: ${JSON.stringify(gone)}`)
  const refused = await rejects(
    client.refreshTokenGrant(web, confidential.refreshed.refresh_token),
    'a revoked refresh token',
  )
  check(refused.error === 'invalid_grant', `a revoked refresh token: ${describe(refused)}`)

  // The public client: same browser, signed in already, so no form.
  const pub = await discover(cfg, cfg.public.client_id, undefined, client.None())
  const publicFlow = await codeFlow(cfg, pub, browser, cfg.public, 'public')
  check(publicFlow.claims.sub === confidential.claims.sub, 'one user, one sub')
  await wrongNonce(cfg, pub, browser, cfg.public)

  console.log(JSON.stringify({ ok: true, alg: cfg.alg, issuer: cfg.issuer }))
}

main().then(
  () => process.exit(0),
  (e) => {
    if (!(e instanceof Failed) && e?.stack) console.error(e.stack)
    console.error(`FAILED: ${e instanceof Failed ? e.message : `openid-client: ${describe(e)}`}`)
    process.exit(1)
  },
)
