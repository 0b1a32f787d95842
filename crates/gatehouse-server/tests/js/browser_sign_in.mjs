#!/usr/bin/env node
// The hosted sign-in page in a real browser: Debian's headless Chromium,
// driven by Playwright (playwright-core, which downloads no browser of its
// own). The script serves the client's redirect URI itself on 127.0.0.1,
// registers a client for it through the admin API, then:
//   - opens the authorize URL (PKCE S256, state, nonce) and finds the form's
//     fields by their labels; a screenshot of the page;
//   - a wrong password: the alert shows, the browser stays on the form, the
//     client hears nothing; a screenshot of that;
//   - the right password: the browser lands on the redirect URI with a code,
//     state and iss; the code is exchanged at the token endpoint with the
//     verifier and the response checked;
//   - a second authorize in the same browser context skips the form and
//     lands on the redirect URI at once.
//
// usage: node browser_sign_in.mjs CONFIG_JSON
//   CONFIG_JSON (from tests/api/browser.rs): {base, tenant, admin_token,
//   username, password, artifacts_dir, chromium}
// Prints a JSON summary (with the screenshots' paths) and exits 0 when all
// passed; else the failed check on stderr and exit 1. Only 127.0.0.1 is
// contacted.

import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const DEADLINE_MS = 50_000 // under the 60 s the Rust side allows
const STEP_TIMEOUT_MS = 15_000

class Failed extends Error {}

function check(cond, message) {
  if (!cond) throw new Failed(message)
}

function step(name) {
  console.error(`-- ${name}`)
}

const b64url = (buf) => Buffer.from(buf).toString('base64url')
const random = () => b64url(randomBytes(32))
const challengeOf = (verifier) => b64url(createHash('sha256').update(verifier).digest())
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'))

/** The client's redirect URI: a tiny server that remembers each callback. */
async function startCallbackServer() {
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

async function http(url, init = {}) {
  const u = new URL(url)
  check(u.hostname === '127.0.0.1', `refusing to contact ${u.host}`)
  return fetch(u, { ...init, redirect: 'manual', signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
}

async function registerClient(cfg, redirectUri) {
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

function authorizeUrl(issuer, clientId, redirectUri) {
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

async function exchange(issuer, app, redirectUri, code, verifier) {
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

function checkTokens(tokens, issuer, app, nonce) {
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
function checkCallback(page, hits, before, redirectUri, issuer, state) {
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

async function run(cfg, browserBox) {
  const issuer = `${cfg.base}/t/${cfg.tenant}`
  check(new URL(issuer).hostname === '127.0.0.1', 'the issuer must be on 127.0.0.1')
  mkdirSync(cfg.artifacts_dir, { recursive: true })
  const shots = {
    sign_in: join(cfg.artifacts_dir, 'sign-in.png'),
    wrong_password: join(cfg.artifacts_dir, 'sign-in-wrong-password.png'),
  }

  const cb = await startCallbackServer()
  browserBox.server = cb.server
  const app = await registerClient(cfg, cb.redirectUri)

  step(`launching ${cfg.chromium}`)
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    // Debian's Chromium, headless, as root in a container: no sandbox, no
    // GPU, and nothing that would reach out to the network by itself.
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
  browserBox.browser = browser
  const context = await browser.newContext({ viewport: { width: 900, height: 720 } })
  context.setDefaultTimeout(STEP_TIMEOUT_MS)
  // Everything the page loads must stay on this machine.
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

  step('authorize: the sign-in form')
  const first = authorizeUrl(issuer, app.client_id, cb.redirectUri)
  const shown = await page.goto(first.url)
  check(shown.status() === 200, `authorize: HTTP ${shown.status()}`)
  check((await page.title()).startsWith('Sign in to'), `title ${await page.title()}`)
  await page.getByRole('heading', { name: /Sign in to/ }).waitFor()
  const username = page.getByLabel('Username or email')
  const password = page.getByLabel('Password')
  const submit = page.getByRole('button', { name: 'Sign in' })
  check(await username.isVisible(), 'the username field is not visible')
  check(await password.isVisible(), 'the password field is not visible')
  check((await password.getAttribute('type')) === 'password', 'the password field shows what is typed')
  check(await submit.isVisible(), 'no Sign in button')
  check(await page.getByText('Browser test app').isVisible(), 'the page does not name the app')
  await page.screenshot({ path: shots.sign_in, fullPage: true })

  step('a wrong password')
  await username.fill(cfg.username)
  await password.fill('not the password')
  await Promise.all([page.waitForLoadState('load'), page.waitForResponse((r) => r.url().startsWith(`${issuer}/authorize`) && r.request().method() === 'POST'), submit.click()])
  const alert = page.getByRole('alert')
  await alert.waitFor()
  const alertText = (await alert.textContent()).trim()
  check(alertText === 'The username or password is incorrect.', `alert says ${JSON.stringify(alertText)}`)
  check(page.url().startsWith(`${issuer}/authorize`), `after a wrong password the browser is at ${page.url()}`)
  check(cb.hits.length === 0, 'the app got a callback after a wrong password')
  check((await username.inputValue()) === cfg.username, 'the username was not kept')
  check((await password.inputValue()) === '', 'the wrong password was sent back into the page')
  await page.screenshot({ path: shots.wrong_password, fullPage: true })

  step('the right password')
  await password.fill(cfg.password)
  await Promise.all([page.waitForURL((u) => u.toString().startsWith(`${cb.redirectUri}?`)), submit.click()])
  await page.getByRole('heading', { name: 'Back at the app' }).waitFor()
  const code = checkCallback(page, cb.hits, 0, cb.redirectUri, issuer, first.state)
  const cookies = await context.cookies(issuer)
  const session = cookies.find((c) => c.name === 'gatehouse_session')
  check(session, `no gatehouse_session cookie: ${cookies.map((c) => c.name)}`)
  check(session.httpOnly && session.sameSite === 'Lax' && session.path === `/t/${cfg.tenant}`,
    `session cookie ${JSON.stringify({ ...session, value: '…' })}`)

  step('the code exchange')
  const tokens = await exchange(issuer, app, cb.redirectUri, code, first.verifier)
  const id = checkTokens(tokens, issuer, app, first.nonce)

  step('authorize again: no form')
  const second = authorizeUrl(issuer, app.client_id, cb.redirectUri)
  const authorizeResponses = []
  const onResponse = (r) => {
    if (r.url().startsWith(`${issuer}/authorize`)) authorizeResponses.push(r.status())
  }
  page.on('response', onResponse)
  const landed = await page.goto(second.url)
  page.off('response', onResponse)
  check(landed.status() === 200, `the app answered ${landed.status()}`)
  check(JSON.stringify(authorizeResponses) === '[302]', `authorize answered ${authorizeResponses} (the form was shown?)`)
  check(landed.request().redirectedFrom()?.url() === second.url, 'the browser did not come straight from authorize')
  const code2 = checkCallback(page, cb.hits, 1, cb.redirectUri, issuer, second.state)
  const tokens2 = await exchange(issuer, app, cb.redirectUri, code2, second.verifier)
  const id2 = checkTokens(tokens2, issuer, app, second.nonce)
  check(id2.sub === id.sub && id2.sid === id.sid, 'the second sign-in is not the same browser session')

  check(offHost.length === 0, `the page tried to load from elsewhere: ${offHost}`)
  console.error(`screenshot: ${shots.sign_in}`)
  console.error(`screenshot: ${shots.wrong_password}`)
  return { ok: true, chromium: browser.version(), screenshots: shots }
}

async function main() {
  const cfg = JSON.parse(process.argv[2])
  const box = {}
  const deadline = setTimeout(async () => {
    console.error(`FAILED: took over ${DEADLINE_MS / 1000} s`)
    await box.browser?.close().catch(() => {})
    process.exit(1)
  }, DEADLINE_MS)
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

main().then((code) => process.exit(code))
