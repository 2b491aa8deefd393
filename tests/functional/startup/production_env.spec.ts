import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { freePort } from '#tests/helpers/service_process'

/**
 * The README's production recipe names NODE_ENV, DATABASE_URL, APP_KEY and
 * the SMTP settings, and its configuration table gives PORT and HOST
 * defaults (3333, 127.0.0.1). With exactly that environment and no `.env`
 * (ENV_PATH points at an empty folder), the release step and the server
 * must start.
 */
function documentedEnvironment(envPath: string): Record<string, string> {
  return {
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    ENV_PATH: envPath,
    NODE_ENV: 'production',
    APP_KEY: process.env.APP_KEY!,
    DATABASE_URL: process.env.DATABASE_URL!,
    SMTP_HOST: process.env.SMTP_HOST!,
    SMTP_PORT: process.env.SMTP_PORT!,
    SHUTDOWN_DRAIN_WINDOW: '0s',
  }
}

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, {
    cwd: app.makePath(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  return { child, exited, output: () => output }
}

test.group('Startup | the documented production environment', () => {
  test('the release step runs without PORT or HOST', async ({ assert, cleanup }) => {
    const envPath = await mkdtemp(join(app.makePath('tmp'), 'prod-env-'))
    cleanup(() => rm(envPath, { recursive: true, force: true }))

    const migrate = run(['ace.js', 'migrate'], documentedEnvironment(envPath))
    const code = await migrate.exited
    assert.equal(code, 0, migrate.output())
    assert.notInclude(migrate.output(), 'Missing environment variable')
  }).timeout(60_000)

  test('the release step needs no mail settings; a server without them refuses to start, naming SMTP_HOST', async ({
    assert,
    cleanup,
  }) => {
    const envPath = await mkdtemp(join(app.makePath('tmp'), 'prod-env-'))
    cleanup(() => rm(envPath, { recursive: true, force: true }))
    const withoutMail = documentedEnvironment(envPath)
    delete withoutMail.SMTP_HOST
    delete withoutMail.SMTP_PORT

    const migrate = run(['ace.js', 'migrate'], withoutMail)
    assert.equal(await migrate.exited, 0, migrate.output())

    const port = await freePort()
    const server = run(['--import=@poppinss/ts-exec', 'bin/server.ts'], {
      ...withoutMail,
      PORT: String(port),
    })
    cleanup(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })
    assert.notEqual(await server.exited, 0)
    assert.include(server.output(), 'SMTP_HOST')
  }).timeout(60_000)

  test('the server starts without HOST and listens on 127.0.0.1', async ({ assert, cleanup }) => {
    const envPath = await mkdtemp(join(app.makePath('tmp'), 'prod-env-'))
    cleanup(() => rm(envPath, { recursive: true, force: true }))
    const port = await freePort()

    const server = run(['--import=@poppinss/ts-exec', 'bin/server.ts'], {
      ...documentedEnvironment(envPath),
      PORT: String(port),
      LOG_LEVEL: 'info',
    })
    cleanup(async () => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    })

    let status = 0
    const deadline = Date.now() + 30_000
    while (status !== 200 && Date.now() < deadline && server.child.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (response) => response.status,
        () => 0
      )
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    assert.equal(status, 200, server.output())
    assert.include(server.output(), `started HTTP server on 127.0.0.1:${port}`)

    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0, server.output())
  }).timeout(60_000)
})
