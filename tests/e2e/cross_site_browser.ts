/*
|--------------------------------------------------------------------------
| Cross-site requests in a real browser (`npm run test:browser`, .ci/run)
|--------------------------------------------------------------------------
|
| SECURITY.md R6 the way a browser does it. The service runs as a process
| with FRONTEND_URL set to one origin (the front end); a page on another
| origin (the attacker's) then tries what a browser lets any page do:
|   - a form that posts itself, form-encoded, to forgot-password;
|   - `fetch` with a text/plain body (a "simple" request, no preflight);
|   - `fetch` with a JSON body (preflighted: CORS must refuse it);
| and the front-end origin does what the real front end does: a JSON
| `fetch`, which must pass CORS and be readable. What reached the service
| is read from its access log and its mail folder (one file per mail).
|
| Needs Debian's Chromium (`apt-get install chromium`; .ci/run installs it
| when missing) and drives it with playwright-core. Every process it
| starts is stopped at the end.
|
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { freePort, startEmbeddedPostgres } from '../../database/embedded_postgres.ts'

const PROJECT = fileURLToPath(new URL('../../', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const VICTIM = 'victim@example.com'

function log(message: string) {
  process.stdout.write(`[browser] ${message}\n`)
}

/**
 * A one-page web server: what a site on `origin` serves.
 */
function site(html: string): Promise<{ server: Server; origin: string }> {
  return new Promise((done) => {
    const server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      response.end(html)
    }).listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      done({ server, origin: `http://127.0.0.1:${port}` })
    })
  })
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT, env, stdio: 'pipe' })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => done({ code, output }))
  })
}

function check(condition: boolean, message: string) {
  if (!condition) throw new Error(message)
  log(`✔ ${message}`)
}

async function main(work: string, stoppers: Array<() => Promise<unknown>>) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`)
  }
  const database = await startEmbeddedPostgres({
    directory: join(work, 'postgres'),
    database: 'tessera',
    fresh: true,
    fast: true,
  })
  stoppers.push(() => database.stop())

  const front = await site('<!doctype html><title>front end</title>')
  stoppers.push(() => new Promise((done) => front.server.close(done)))
  const apiPort = await freePort()
  const api = `http://127.0.0.1:${apiPort}`
  const mailDir = join(work, 'mail')
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    SHUTDOWN_DRAIN_WINDOW: '0s',
    APP_KEY: randomBytes(32).toString('base64url'),
    DATABASE_URL: database.url,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    FRONTEND_URL: front.origin,
    MAIL_DIR: mailDir,
    LOG_LEVEL: 'info',
  }
  const migrated = await run(['ace.js', 'migrate'], env)
  if (migrated.code !== 0) throw new Error(`migrate failed\n${migrated.output}`)
  let serviceLog = ''
  const service: ChildProcess = spawn(
    process.execPath,
    ['--import=@poppinss/ts-exec', 'bin/server.ts'],
    { cwd: PROJECT, env, stdio: 'pipe' }
  )
  service.stdout!.on('data', (chunk) => (serviceLog += chunk))
  service.stderr!.on('data', (chunk) => (serviceLog += chunk))
  stoppers.push(async () => {
    service.kill('SIGTERM')
    await new Promise((done) => service.once('close', done))
  })
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const ready = await fetch(`${api}/health/ready`).catch(() => null)
    if (ready?.status === 200) break
    await new Promise((done) => setTimeout(done, 200))
  }
  // the victim's account, so that an accepted forgot-password would mail
  const signup = await fetch(`${api}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: VICTIM, password: 'the victim passphrase' }),
  })
  check(signup.status === 202, 'the victim signs up (202)')
  await new Promise((done) => setTimeout(done, 1000))
  const mailsBefore = existsSync(mailDir) ? readdirSync(mailDir).length : 0

  const forgot = `${api}/api/v1/auth/password/forgot`
  const attacker = await site(`<!doctype html><title>attacker</title>
<form id="f" method="post" action="${forgot}" target="sink">
  <input name="email" value="${VICTIM}">
</form>
<iframe name="sink"></iframe>
<script>
  window.results = {}
  fetch(${JSON.stringify(forgot)}, { method: 'POST', mode: 'no-cors',
    body: JSON.stringify({ email: ${JSON.stringify(VICTIM)} }) })
    .then(() => (window.results.textPlain = 'sent'), () => (window.results.textPlain = 'failed'))
  fetch(${JSON.stringify(forgot)}, { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ${JSON.stringify(VICTIM)} }) })
    .then((r) => (window.results.json = r.status), () => (window.results.json = 'refused'))
  document.getElementById('f').submit()
</script>`)
  stoppers.push(() => new Promise((done) => attacker.server.close(done)))
  check(attacker.origin !== front.origin, 'the attacker page is on another origin')

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  stoppers.push(() => browser.close())
  const page = await browser.newPage()
  const answers: Array<{ method: string; status: number; type: string }> = []
  page.on('response', (response) => {
    if (response.url() === forgot) {
      answers.push({
        method: response.request().method(),
        status: response.status(),
        type: response.request().headers()['content-type'] ?? '',
      })
    }
  })
  await page.goto(attacker.origin)
  // page scripts run in the browser: given as text, so the app's tsconfig needs no DOM types
  await page.waitForFunction('window.results && window.results.json && window.results.textPlain')
  await page.waitForTimeout(1500)
  const results = (await page.evaluate('window.results')) as { json: unknown; textPlain: unknown }

  const posts = answers.filter((answer) => answer.method === 'POST')
  check(
    posts.some((answer) => answer.type.startsWith('application/x-www-form-urlencoded')),
    'the browser sent the cross-site form'
  )
  check(
    posts.every((answer) => answer.status === 415),
    `every cross-site POST that reached the service got 415 (${JSON.stringify(posts)})`
  )
  check(results.json === 'refused', 'the cross-site JSON fetch was refused by CORS')
  const mailsAfterAttack = existsSync(mailDir) ? readdirSync(mailDir).length : 0
  check(mailsAfterAttack === mailsBefore, 'no reset mail went out for the attacker')
  check(
    !/"route":"\/api\/v1\/auth\/password\/forgot","status":202/.test(serviceLog),
    'no forgot-password was accepted'
  )

  // The real front end: a JSON fetch from the configured origin.
  await page.goto(front.origin)
  const status = await page.evaluate(async (url) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'someone@example.com' }),
    })
    return response.status
  }, forgot)
  check(status === 202, 'the front end origin gets a readable 202 through CORS')
}

const work = await mkdtemp(join(PROJECT, 'tmp', 'browser-'))
const stoppers: Array<() => Promise<unknown>> = []
let failed = false
try {
  await main(work, stoppers)
  log('all checks passed')
} catch (error) {
  failed = true
  process.stderr.write(`[browser] ✖ ${error instanceof Error ? error.message : String(error)}\n`)
} finally {
  for (const stop of stoppers.reverse()) await stop().catch(() => {})
  await rm(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
