#!/usr/bin/env node
// The password-reset page in a real browser (Debian's headless Chromium,
// playwright-core; the harness in browser_common.mjs). Given the reset
// link a real SMTP server received (tests/api/browser.rs reads it from the
// delivered mail), the script:
//   - opens the link: the "Choose a new password" form, its field found by
//     its label; a screenshot;
//   - sets a new password through the form (CSRF cookie and hidden token
//     as the page sends them): the "Password changed" page; a screenshot;
//   - opens the same link again and submits: refused, the page says the
//     link was already used; a screenshot;
//   - signs in on the hosted page of a registered client: the old password
//     is refused, the new one lands on the redirect URI with a code, which
//     is exchanged (PKCE) for tokens whose ID token says the address is
//     verified (the link reached the mailbox).
//
// usage: node browser_reset_password.mjs CONFIG_JSON
//   CONFIG_JSON: {base, tenant, admin_token, username, old_password,
//   new_password, reset_link, artifacts_dir, chromium}
// Prints a JSON summary (with the screenshots' paths) and exits 0 when all
// passed; else the failed check on stderr and exit 1. Only 127.0.0.1 is
// contacted.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  authorizeUrl, check, checkCallback, checkTokens, exchange, launch, main, registerClient,
  startCallbackServer, step,
} from './browser_common.mjs'

async function submitNewPassword(page, issuer, password) {
  // exact: the page's <main> is labelled "Choose a new password" too.
  const field = page.getByLabel('New password', { exact: true })
  check(await field.isVisible(), 'the new-password field is not visible')
  check((await field.getAttribute('type')) === 'password', 'the new-password field shows what is typed')
  await field.fill(password)
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${issuer}/password/reset`) && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Set password' }).click(),
  ])
  await page.waitForLoadState('load')
  return response
}

async function run(cfg, box) {
  const issuer = `${cfg.base}/t/${cfg.tenant}`
  check(new URL(issuer).hostname === '127.0.0.1', 'the issuer must be on 127.0.0.1')
  check(cfg.reset_link.startsWith(`${issuer}/password/reset?token=`), `not a reset link: ${cfg.reset_link}`)
  mkdirSync(cfg.artifacts_dir, { recursive: true })
  const shots = {
    reset_form: join(cfg.artifacts_dir, 'reset-form.png'),
    reset_done: join(cfg.artifacts_dir, 'reset-done.png'),
    reset_link_used: join(cfg.artifacts_dir, 'reset-link-used.png'),
  }

  const cb = await startCallbackServer()
  box.server = cb.server
  const app = await registerClient(cfg, cb.redirectUri)
  const { browser, page, offHost } = await launch(cfg, box)

  step('the mailed link: the form')
  const shown = await page.goto(cfg.reset_link)
  check(shown.status() === 200, `reset page: HTTP ${shown.status()}`)
  check((await page.title()).startsWith('Choose a new password'), `title ${await page.title()}`)
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
  await page.screenshot({ path: shots.reset_form, fullPage: true })

  step('set the new password')
  const set = await submitNewPassword(page, issuer, cfg.new_password)
  check(set.status() === 200, `setting the password: HTTP ${set.status()}`)
  await page.getByRole('heading', { name: 'Password changed' }).waitFor()
  const done = await page.locator('main').textContent()
  check(done.includes('every sign-in has ended'), `the page says: ${done}`)
  await page.screenshot({ path: shots.reset_done, fullPage: true })

  step('the same link again')
  await page.goto(cfg.reset_link)
  const again = await submitNewPassword(page, issuer, 'a password nobody may set')
  check(again.status() === 400, `the reused link: HTTP ${again.status()}`)
  const alert = (await page.getByRole('alert').textContent()).trim()
  check(alert === 'This link was already used.', `the reused link says ${JSON.stringify(alert)}`)
  await page.screenshot({ path: shots.reset_link_used, fullPage: true })

  step('sign in: the old password is refused')
  const flow = authorizeUrl(issuer, app.client_id, cb.redirectUri)
  await page.goto(flow.url)
  await page.getByRole('heading', { name: /Sign in to/ }).waitFor()
  const username = page.getByLabel('Username or email')
  const password = page.getByLabel('Password')
  const submit = page.getByRole('button', { name: 'Sign in' })
  await username.fill(cfg.username)
  await password.fill(cfg.old_password)
  await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${issuer}/authorize`) && r.request().method() === 'POST'),
    submit.click(),
  ])
  await page.getByRole('alert').waitFor()
  check(cb.hits.length === 0, 'the old password signed in')

  step('sign in with the new password')
  await password.fill(cfg.new_password)
  await Promise.all([page.waitForURL((u) => u.toString().startsWith(`${cb.redirectUri}?`)), submit.click()])
  const code = checkCallback(page, cb.hits, 0, cb.redirectUri, issuer, flow.state)
  const tokens = await exchange(issuer, app, cb.redirectUri, code, flow.verifier)
  const id = checkTokens(tokens, issuer, app, flow.nonce)
  check(id.preferred_username === cfg.username, `signed in as ${id.preferred_username}`)
  check(id.email_verified === true, `email_verified ${id.email_verified} after a reset`)

  check(offHost.length === 0, `the page tried to load from elsewhere: ${offHost}`)
  for (const path of Object.values(shots)) console.error(`screenshot: ${path}`)
  return { ok: true, chromium: browser.version(), screenshots: shots, sub: id.sub }
}

main(run)
