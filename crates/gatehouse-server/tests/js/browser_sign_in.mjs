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

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  authorizeUrl, check, checkCallback, checkTokens, exchange, launch, main, registerClient,
  startCallbackServer, step,
} from './browser_common.mjs'

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

  const { browser, context, page, offHost } = await launch(cfg, browserBox)

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

main(run)
