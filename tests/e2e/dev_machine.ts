/*
|--------------------------------------------------------------------------
| A developer's machine, end to end (`npm run test:e2e`, a step of .ci/run)
|--------------------------------------------------------------------------
|
| Runs the README's commands the way a person does — `npm run ace`, `npm
| start`, `npm test`, signals from `kill` — on a copy of this checkout made
| inside a fresh folder closed to other users (`mkdtemp`, mode 0700), with
| no `.env` and no database, as a fresh clone. As root (CI) that is the
| case where PostgreSQL, which runs as the `postgres` OS user, can reach
| neither the data nor the binaries under the project.
|
| It checks, in order:
|   - ace commands and `npm test` work before the first `npm start`;
|   - `npm test` is quiet: no log lines, no clearing of the terminal;
|   - (a) a user made with user:create survives `npm test`, whether the
|     development cluster runs or is stopped, and with DATABASE_URL set to
|     the development database (F9);
|   - a second `npm start` that rebuilds leaves the first one serving;
|   - (c) SIGTERM to the `npm start` PID leaves no process behind;
|   - (b) all of it as root inside a 0700 folder.
|
| Every process it starts runs in a process group of its own, killed at
| the end whatever happened; the copy and its data are deleted.
|
*/

import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm, utimes } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'

const PROJECT = fileURLToPath(new URL('../../', import.meta.url))
const PASSWORD = 'e2e correct horse battery staple'
const EMAIL = 'e2e@example.com'
const STARTED_AT = Date.now()

type Run = { child: ChildProcess; output: () => string; exited: Promise<number | null> }
const groups = new Set<number>()

function log(message: string) {
  const seconds = ((Date.now() - STARTED_AT) / 1000).toFixed(0).padStart(4)
  process.stdout.write(`[e2e ${seconds}s] ${message}\n`)
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => done(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/**
 * The environment of a person's shell: this one without what `npm run`
 * added or a developer may have set for Tessera.
 */
function shellEnv(extra: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') || key === 'INIT_CWD') continue
    if (['DATABASE_URL', 'ENV_PATH', 'EMBEDDED_PG_DIR', 'PORT', 'NODE_ENV'].includes(key)) continue
    if (['LOG_LEVEL', 'APP_KEY', 'HOST'].includes(key)) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/**
 * Runs `npm <args>` in `cwd` in a process group of its own.
 */
function npm(cwd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Run {
  const child = spawn('npm', args, {
    cwd,
    env,
    detached: true,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  groups.add(child.pid!)
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  if (input !== undefined) child.stdin!.end(input)
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  return { child, output: () => output, exited }
}

class StepFailed extends Error {}

function fail(message: string, ...outputs: string[]): never {
  throw new StepFailed([message, ...outputs.map((text) => `--- output ---\n${text}`)].join('\n'))
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string, run?: Run) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new StepFailed(`${what}: no result within ${ms / 1000} s\n${run?.output() ?? ''}`)),
      ms
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function succeeds(run: Run, what: string, ms: number) {
  const code = await withTimeout(run.exited, ms, what, run)
  if (code !== 0) fail(`${what} exited with ${code}`, run.output())
  log(`✔ ${what}`)
}

async function waitReady(port: number, run: Run, ms: number) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null)
      fail(`npm start exited with ${run.child.exitCode}`, run.output())
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null)
    if (response?.status === 200) return
    await new Promise((done) => setTimeout(done, 500))
  }
  fail(`npm start did not answer /health/ready on ${port} within ${ms / 1000} s`, run.output())
}

async function signIn(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/auth/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  })
  const body: any = await response.json().catch(() => null)
  return { status: response.status, token: body?.data?.token as string | undefined }
}

async function signsIn(port: number) {
  const { status } = await signIn(port)
  return status === 200
}

/**
 * Pids of every process still in process group `group`.
 */
function membersOf(group: number) {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // fields[0] is the state, [2] the process group; zombies have exited
      if (Number(fields[2]) === group && fields[0] !== 'Z') pids.push(Number(entry))
    } catch {}
  }
  return pids
}

function describe(pids: number[]) {
  return pids
    .map((pid) => {
      try {
        return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`
      } catch {
        return String(pid)
      }
    })
    .join('\n')
}

/**
 * (c): SIGTERM to the npm process only, then nothing of its group may be left.
 */
async function stopWithSigterm(run: Run, what: string) {
  const group = run.child.pid!
  process.kill(run.child.pid!, 'SIGTERM')
  await withTimeout(run.exited, 30_000, `${what} after SIGTERM`, run)
  const deadline = Date.now() + 15_000
  let left = membersOf(group)
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 250))
    left = membersOf(group)
  }
  if (left.length > 0) fail(`SIGTERM to ${what} left processes behind:\n${describe(left)}`)
  groups.delete(group)
  log(`✔ SIGTERM to the ${what} PID left no process behind`)
}

/**
 * The files of a fresh clone of this checkout (tracked and new, not
 * ignored), plus node_modules as hard links (same inodes, no copying).
 */
async function copyCheckout(target: string) {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: PROJECT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(join(PROJECT, file)))
  for (const file of files) {
    await mkdir(dirname(join(target, file)), { recursive: true })
    await cp(join(PROJECT, file), join(target, file), { preserveTimestamps: true })
  }
  try {
    execFileSync('cp', ['-al', join(PROJECT, 'node_modules'), join(target, 'node_modules')])
  } catch {
    // another file system: copy for real (slower)
    await rm(join(target, 'node_modules'), { recursive: true, force: true })
    execFileSync('cp', ['-a', join(PROJECT, 'node_modules'), join(target, 'node_modules')])
  }
}

/**
 * The folder the embedded cluster of `directory` lives in: itself, or as
 * root under a closed folder the one under the OS temp folder (see
 * database/embedded_postgres.ts).
 */
function clusterRoot(directory: string) {
  const digest = createHash('sha1').update(resolve(directory)).digest('hex').slice(0, 10)
  const moved = join(tmpdir(), `tessera-${digest}`)
  return { moved, root: existsSync(moved) ? join(moved, 'postgres') : directory }
}

async function main(work: string) {
  const app = join(work, 'tessera')
  await copyCheckout(app)
  log(`fresh copy in ${app} (${process.getuid?.() === 0 ? 'as root, ' : ''}folder mode 0700)`)

  const portA = await freePort()
  const portB = await freePort()
  const env = (port: number, extra: Record<string, string> = {}) =>
    shellEnv({ PORT: String(port), ...extra })
  const quickTest = ['test', '--', '--files=tests/unit/file_mail_transport.spec.ts']

  await succeeds(npm(app, quickTest, env(portA)), 'npm test on a fresh clone', 180_000)

  await succeeds(
    npm(app, ['run', 'ace', '--', 'user:create', EMAIL, '--verified'], env(portA), `${PASSWORD}\n`),
    'npm run ace -- user:create before the first npm start',
    180_000
  )
  if (!existsSync(join(app, '.env'))) fail('user:create did not create .env')

  const first = npm(app, ['start'], env(portA))
  await waitReady(portA, first, 300_000)
  log('✔ npm start serves /health/ready')
  const signedIn = await signIn(portA)
  if (signedIn.status !== 200) fail(`sign-in answered ${signedIn.status}`, first.output())
  log('✔ the user made before npm start signs in')

  const whileRunning = npm(app, quickTest, env(portB))
  await succeeds(whileRunning, 'npm test while npm start runs', 180_000)
  /**
   * Quiet although .env says LOG_LEVEL=info (that is for npm start), and
   * the terminal is left as it was.
   */
  if (whileRunning.output().includes('\u001Bc')) fail('npm test cleared the terminal')
  if (/^\{"level"/m.test(whileRunning.output())) {
    fail('npm test printed log lines', whileRunning.output())
  }
  log('✔ npm test neither clears the terminal nor prints log lines')
  if (!(await signsIn(portA))) fail('the user is gone after npm test', first.output())
  log('✔ the user still signs in after npm test (cluster running)')

  const { root } = clusterRoot(join(app, 'tmp/postgres'))
  const devPassword = readFileSync(join(root, 'password'), 'utf8').trim()
  const devPort = Number(readFileSync(join(root, 'data/postmaster.pid'), 'utf8').split('\n')[3])
  const devUrl = `postgres://postgres:${encodeURIComponent(devPassword)}@127.0.0.1:${devPort}/tessera`
  await succeeds(
    npm(app, quickTest, env(portB, { DATABASE_URL: devUrl })),
    'npm test with DATABASE_URL set to the development database',
    180_000
  )
  if (!(await signsIn(portA))) fail('the user is gone after npm test with DATABASE_URL')
  log('✔ the user still signs in after npm test with DATABASE_URL (a scratch database was used)')

  /**
   * A second npm start after a source change rebuilds while the first
   * serves. Routes whose controllers the first has not loaded yet are
   * called one by one from the moment the build starts until it is done:
   * a build that replaced the first server's files would make them 500.
   */
  const source = join(app, 'app/controllers/health_controller.ts')
  const now = new Date()
  await utimes(source, now, now)
  const second = npm(app, ['start'], env(portB))
  const bearer = { authorization: `Bearer ${signedIn.token}` }
  const json = { 'content-type': 'application/json' }
  const probes: [string, string, Record<string, string>][] = [
    ['POST', '/api/v1/auth/signup', json],
    ['POST', '/api/v1/auth/email/verify', json],
    ['POST', '/api/v1/auth/password/forgot', json],
    ['GET', '/api/v1/me', bearer],
    ['PUT', '/api/v1/me/password', { ...bearer, ...json }],
    ['GET', '/api/v1/me/sessions', bearer],
  ]
  const deadline = Date.now() + 300_000
  while (!second.output().includes('compiling the server') && Date.now() < deadline) {
    if (second.child.exitCode !== null) fail('the second npm start exited', second.output())
    await new Promise((done) => setTimeout(done, 100))
  }
  if (!second.output().includes('compiling the server')) {
    fail('the second npm start did not rebuild', second.output())
  }
  const ready = waitReady(portB, second, 300_000)
  for (const [method, path, headers] of probes) {
    const response = await fetch(`http://127.0.0.1:${portA}${path}`, {
      method,
      headers,
      body: method === 'GET' ? undefined : '{}',
    })
    if (response.status >= 500) {
      fail(
        `the first server answered ${method} ${path} with ${response.status} during a rebuild`,
        first.output()
      )
    }
    await new Promise((done) => setTimeout(done, 700))
  }
  await ready
  log('✔ a rebuild by a second npm start leaves the first one serving')
  await stopWithSigterm(second, 'second npm start')
  await stopWithSigterm(first, 'npm start')
  if (existsSync(join(root, 'data/postmaster.pid'))) fail('PostgreSQL did not shut down cleanly')

  await succeeds(npm(app, quickTest, env(portB)), 'npm test with the cluster stopped', 180_000)

  const third = npm(app, ['start'], env(portA))
  await waitReady(portA, third, 300_000)
  if (!(await signsIn(portA))) fail('the user is gone after a restart', third.output())
  log('✔ after npm test and a restart, the user still signs in')
  await stopWithSigterm(third, 'npm start')
}

const work = await mkdtemp(join(PROJECT, 'tmp', 'e2e-'))
let failed = false
try {
  await withTimeout(main(work), 20 * 60_000, 'the whole scenario')
  log('all steps passed')
} catch (error) {
  failed = true
  process.stderr.write(`[e2e] ✖ ${error instanceof Error ? error.message : String(error)}\n`)
} finally {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL')
    } catch {}
  }
  const { moved, root } = clusterRoot(join(work, 'tessera/tmp/postgres'))
  const pidFile = join(root, 'data/postmaster.pid')
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL')
    } catch {}
  }
  await rm(moved, { recursive: true, force: true })
  await rm(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
