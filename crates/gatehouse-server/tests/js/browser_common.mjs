// What the real-browser tests share (browser_sign_in.mjs,
// browser_reset_password.mjs): Debian's headless Chromium through
// playwright-core, a client's redirect URI served on 127.0.0.1, the
// client registered through the admin API, PKCE, the code exchange, and a
// runner with a deadline that prints a JSON summary. Only 127.0.0.1 is
// contacted: every other request of the page is aborted and reported.

import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { chromium } from 'playwright-core'

export const DEADLINE_MS = 50_000 // under the 60 s the Rust side allows
export const STEP_TIMEOUT_MS = 15_000

export class Failed extends Error {}

export function check(cond, message) {
  if (!cond) throw new Failed(message)
}

export function step(name) {
  console.error(`-- ${name}`)
}

export const b64url = (buf) => Buffer.from(buf).toString('base64url')
export const random = () => b64url(randomBytes(32))
export const challengeOf = (verifier) => b64url(createHash('sha256').update(verifier).digest())
export const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'))

/** The client's redirect URI: a tiny server that remembers each callback. */
export async function startCallbackServer() {
  const hits = []
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    if (url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    hits.push(url)
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end('<!doctype html><title>Example app</title><h1>Back at the app</h1><p>Authorization code received.</p>')
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address()
  return { server, hits, redirectUri: `http://127.0.0.1:${port}/callback` }
}

export async function http(url, init = {}) {
  const u = new URL(url)
  check(u.hostname === '127.0.0.1', `refusing to contact ${u.host}`)
  return fetch(u, { ...init, redirect: 'manual', signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
}

export async function registerClient(cfg, redirectUri) {
  const r = await http(`${cfg.base}/admin/t/${cfg.tenant}/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cfg.admin_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Browser test app',
      type: 'confidential',
      grants: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'email'],
      redirect_uris: [redirectUri],
    }),
  })
  const body = await r.json()
  check(r.status === 201, `client registration: HTTP ${r.status}: ${JSON.stringify(body)}`)
  return body
}

export function authorizeUrl(issuer, clientId, redirectUri) {
  const verifier = random()
  const state = random()
  const nonce = random()
  const url = new URL(`${issuer}/authorize`)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: challengeOf(verifier),
    code_challenge_method: 'S256',
  }).toString()
  return { url: url.toString(), verifier, state, nonce }
}

export async function exchange(issuer, app, redirectUri, code, verifier) {
  const r = await http(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
  })
  const body = await r.json()
  check(r.status === 200, `token endpoint: HTTP ${r.status}: ${JSON.stringify(body)}`)
  check(r.headers.get('cache-control') === 'no-store', 'token response may be cached')
  return body
}

export function checkTokens(tokens, issuer, app, nonce) {
  check(tokens.token_type === 'Bearer', `token_type ${tokens.token_type}`)
  check(tokens.access_token && tokens.id_token, `tokens: ${Object.keys(tokens)}`)
  check(tokens.expires_in > 0, 'expires_in')
  const id = claimsOf(tokens.id_token)
  check(id.iss === issuer, `ID token iss ${id.iss}`)
  check(id.aud === app.client_id || (Array.isArray(id.aud) && id.aud.includes(app.client_id)), 'ID token aud')
  check(id.nonce === nonce, 'ID token nonce')
  return id
}

/** The callback the browser landed on: code, state and iss as sent. */
export function checkCallback(page, hits, before, redirectUri, issuer, state) {
  const landed = new URL(page.url())
  check(`${landed.origin}${landed.pathname}` === redirectUri, `the browser is at ${page.url()}`)
  check(hits.length === before + 1, `the app got ${hits.length - before} callbacks`)
  const cb = hits[hits.length - 1]
  check(cb.searchParams.get('state') === state, 'callback state')
  check(cb.searchParams.get('iss') === issuer, `callback iss ${cb.searchParams.get('iss')}`)
  const code = cb.searchParams.get('code')
  check(code, `callback without a code: ${cb}`)
  check(!cb.searchParams.get('error'), `callback error: ${cb}`)
  return code
}

/**
 * Debian's Chromium, headless, as root in a container: no sandbox, no
 * GPU, and nothing that would reach out to the network by itself. Returns
 * the browser, a page in a fresh context, and the list that collects what
 * the page tried to load from anywhere but 127.0.0.1 (aborted).
 */
export async function launch(cfg, box) {
  step(`launching ${cfg.chromium}`)
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-proxy-server',
    ],
    timeout: STEP_TIMEOUT_MS,
  })
  box.browser = browser
  const context = await browser.newContext({ viewport: { width: 900, height: 720 } })
  context.setDefaultTimeout(STEP_TIMEOUT_MS)
  const offHost = []
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url())
    if (u.hostname !== '127.0.0.1') {
      offHost.push(u.toString())
      return route.abort()
    }
    return route.continue()
  })
  const page = await context.newPage()
  return { browser, context, page, offHost }
}

/**
 * Runs `run(cfg, box)` with the config of argv[2] under the deadline;
 * prints its summary as JSON and exits 0, or the failed check on stderr
 * and exits 1. `box.browser` and `box.server` are closed either way.
 */
export function main(run) {
  const cfg = JSON.parse(process.argv[2])
  const box = {}
  const deadline = setTimeout(async () => {
    console.error(`FAILED: took over ${DEADLINE_MS / 1000} s`)
    await box.browser?.close().catch(() => {})
    process.exit(1)
  }, DEADLINE_MS)
  const done = async () => {
    try {
      const summary = await run(cfg, box)
      console.log(JSON.stringify(summary))
      return 0
    } catch (e) {
      if (!(e instanceof Failed) && e?.stack) console.error(e.stack)
      console.error(`FAILED: ${e?.message ?? e}`)
      return 1
    } finally {
      clearTimeout(deadline)
      await box.browser?.close().catch(() => {})
      box.server?.close()
    }
  }
  done().then((code) => process.exit(code))
}
