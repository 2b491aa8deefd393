import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from '@japa/runner'
import pg from 'pg'
import app from '@adonisjs/core/services/app'
import { isCommonPassword } from '#services/password_policy'
import { runAce, spawnService } from '#tests/helpers/service_process'
import {
  plain,
  runFunctionalSuiteInProduction,
  scratchDatabase,
} from '#tests/security/helpers/functional_run'
import { FlakySmtpServer } from '#tests/security/helpers/flaky_smtp'
import {
  findSecrets,
  looksLikeDriverMessage,
  looksLikeSql,
  looksLikeStack,
} from '#tests/security/helpers/leaks'

/**
 * SECURITY.md R5: nothing secret in logs or error bodies — no tokens,
 * passwords, reset links, Authorization values, stacks or SQL.
 */

/**
 * The app's own log lines: pino JSON objects named "tessera".
 */
function appLogLines(output: string) {
  return plain(output)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as { name?: string; level?: number }
        return entry.name === 'tessera' ? [{ line, entry }] : []
      } catch {
        return []
      }
    })
}

test.group('Security | nothing secret in logs or error bodies', () => {
  test('R5: the functional and security suites in production mode at trace level leak no secret, stack or SQL', async ({
    assert,
    cleanup,
  }) => {
    const workDir = await mkdtemp(join(app.makePath('tmp'), 'r5-'))
    const run = await runFunctionalSuiteInProduction(workDir, 280_000)
    // Kept on failure, for the evidence; removed when the test passes.
    let passed = false
    cleanup(() => (passed ? rm(workDir, { recursive: true, force: true }) : undefined))

    const failed = plain(run.output)
      .split('\n')
      .filter((line) => /✖/.test(line))
      .map((line) => line.trim())
    assert.isFalse(run.timedOut, 'the child run timed out')
    assert.equal(
      run.exitCode,
      0,
      `the suites failed in production mode (output in ${run.outputFile}):\n${failed.join('\n')}`
    )
    assert.equal(run.migrationPrompts, 2, 'one consent prompt to migrate, one to roll back')

    // The run really was what it claims: production JSON logs at trace level.
    const logs = appLogLines(run.output)
    assert.isAbove(logs.length, 0, 'no app log line was captured')
    assert.isTrue(
      logs.some(({ entry }) => entry.level === 10),
      'no trace-level line: was LOG_LEVEL=trace applied?'
    )

    // And the recorder saw the secrets the suite handled.
    // Passwords from the public common-password list (sent by the policy
    // tests to be refused) are words like "password": not secrets.
    const secrets = new Map<string, string>()
    for (const line of run.recorded) {
      if (line.type !== 'secret' || secrets.has(line.value)) continue
      if (isCommonPassword(line.value)) continue
      secrets.set(line.value, line.kind)
    }
    for (const value of run.environmentSecrets) secrets.set(value, 'environment')
    const errorBodies = run.recorded.filter((line) => line.type === 'errorBody')
    const kinds = new Set(
      run.recorded.flatMap((line) => (line.type === 'secret' ? [line.kind.split('.')[0]] : []))
    )
    for (const kind of ['signIn', 'createUser', 'mail', 'authorization', 'request', 'response']) {
      assert.isTrue(kinds.has(kind), `the recorder saw no secret of kind ${kind}`)
    }
    assert.isAbove(secrets.size, 200)
    assert.isAbove(errorBodies.length, 100)

    // No secret anywhere in the output: app logs, runner output, stderr.
    const leaks = findSecrets(run.output, secrets)
    assert.deepEqual(leaks, [], `secrets in the output of ${run.outputFile}`)

    // No secret, stack or SQL in any error body the suite received.
    const badBodies: string[] = []
    for (const body of errorBodies) {
      const where = `${body.method} ${body.url} → ${body.status}`
      for (const leak of findSecrets(body.text, secrets)) badBodies.push(`${where}: ${leak}`)
      if (looksLikeStack(body.text)) badBodies.push(`${where}: a stack trace: ${body.text}`)
      if (looksLikeSql(body.text) || looksLikeDriverMessage(body.text)) {
        badBodies.push(`${where}: SQL or a driver message: ${body.text}`)
      }
      // Node's own refusals (431, or 400 from its HTTP parser) come before
      // the app, with an empty body.
      if (body.text === '' && [400, 431].includes(body.status)) continue
      let parsed: unknown
      try {
        parsed = JSON.parse(body.text)
      } catch {
        badBodies.push(`${where}: not JSON: ${body.text.slice(0, 200)}`)
        continue
      }
      const errors = (parsed as { errors?: unknown }).errors
      if (!Array.isArray(errors) || errors.length === 0) {
        badBodies.push(`${where}: not the { errors: [...] } shape: ${body.text.slice(0, 200)}`)
      }
    }
    assert.deepEqual(badBodies, [])

    // No stack or SQL in the app's own log lines either.
    const badLines = logs
      .filter(({ line }) => looksLikeStack(line) || looksLikeSql(line))
      .map(({ line }) => line.slice(0, 300))
    assert.deepEqual(badLines, [], 'app log lines with a stack or SQL')
    passed = true
  }).timeout(300_000)
})

/**
 * The first link with a token in a raw message (quoted-printable decoded).
 */
function linkIn(raw: string) {
  const decoded = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
  const link = decoded.match(/https?:\/\/\S+?\?token=[\w.-]+/)?.[0]
  if (!link) throw new Error('no link in the message')
  return { link, token: new URL(link).searchParams.get('token')! }
}

test.group('Security | nothing secret in a production server’s log', () => {
  /**
   * The functional suite mostly takes the happy paths, on which the app
   * logs nothing. This run drives a production server (trace level) down
   * every path that does log: mail refused then retried, mail lost for
   * good, the argon2 queue full (503), an unhandled database error (500),
   * failed sign-ins, used and forged tokens, malformed and oversized
   * bodies — each carrying secrets — and then reads every line it wrote.
   */
  test('R5: a production server logging at trace writes no secret, stack or SQL on its failure paths', async ({
    assert,
    cleanup,
  }) => {
    const database = await scratchDatabase('tessera_r5_server')
    assert.isNotNull(database, 'this test needs a role that may create databases')
    cleanup(() => database!.drop())
    const sink = new FlakySmtpServer('lost.example')
    const smtpPort = await sink.start()
    cleanup(() => sink.stop())

    const appKey = randomBytes(32).toString('base64url')
    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'trace',
      APP_KEY: appKey,
      DATABASE_URL: database!.url,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      FRONTEND_URL: 'https://app.tessera.test',
      HASH_CONCURRENCY: '1',
      HASH_QUEUE_LIMIT: '1',
      SIGNIN_IP_LIMIT: '1000',
      SIGNIN_EMAIL_LIMIT: '1000',
      SIGNIN_IP_EMAIL_LIMIT: '1000',
      MAIL_IP_LIMIT: '1000',
      MAIL_EMAIL_LIMIT: '1000',
      // a mail job dead-lettered within seconds: the first try, two retries
      JOB_RETRY_LIMIT: '2',
      JOB_RETRY_DELAY: '1s',
      JOB_RETRY_DELAY_MAX: '2s',
      JOB_POLL_MS: '100',
    }
    await runAce(['migration:run', '--force', '--no-schema-generate', '--compact-output'], {
      ...env,
      HOST: '127.0.0.1',
      PORT: '0',
    })
    const service = await spawnService('bin/server.ts', env)
    cleanup(() => service.stop())
    await service.waitFor('/health/ready', 200, 30_000)

    const secrets = new Map<string, string>([
      [appKey, 'APP_KEY'],
      [database!.password, 'database password'],
    ])
    const keep = (kind: string, value: string) => secrets.set(value, kind)
    const bodies: Array<{ where: string; status: number; text: string }> = []
    const call = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {}
    ) => {
      if (headers.authorization) keep('Authorization value', headers.authorization)
      const response = await fetch(`${service.url}/api/v1${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      })
      const text = await response.text()
      if (response.status >= 400)
        bodies.push({ where: `${method} ${path}`, status: response.status, text })
      return { status: response.status, json: () => JSON.parse(text) }
    }

    /**
     * One request that must answer `status`.
     */
    const expectStatus = async (
      status: number,
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>
    ) => {
      const response = await call(method, path, body, headers)
      assert.equal(response.status, status, `${method} ${path}`)
      return response
    }
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    const linkTo = async (address: string, page: RegExp) => {
      const mail = await sink.accepted(address, page)
      return linkIn(mail.text)
    }

    const email = 'owner@r5.example'
    const password = `first secret passphrase ${randomBytes(6).toString('hex')}`
    keep('password', password)
    const newPassword = `second secret passphrase ${randomBytes(6).toString('hex')}`
    keep('new password', newPassword)

    // Sign-up: the verification mail is refused once (a warning), then delivered.
    await expectStatus(202, 'POST', '/auth/signup', { email, password, name: 'Owner' })
    const verification = await linkTo(email, /verify-email/)
    keep('verification link', verification.link)
    keep('verification token', verification.token)
    await expectStatus(200, 'POST', '/auth/email/verify', { token: verification.token })
    await expectStatus(400, 'POST', '/auth/email/verify', { token: verification.token })

    // Sign-in: a wrong password, then the right one; forged and real Bearer tokens.
    const wrong = `wrong secret guess ${randomBytes(6).toString('hex')}`
    keep('wrong password', wrong)
    await expectStatus(400, 'POST', '/auth/signin', { email, password: wrong })
    const signin = await expectStatus(200, 'POST', '/auth/signin', {
      email,
      password,
      deviceName: 'Laptop',
    })
    const accessToken = signin.json().data.token as string
    keep('access token', accessToken)
    await expectStatus(200, 'GET', '/me', undefined, bearer(accessToken))
    await expectStatus(401, 'GET', '/me', undefined, bearer(`${accessToken}x`))
    const basic = `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`
    await expectStatus(401, 'GET', '/me', undefined, { authorization: basic })

    // Reset: refused once, delivered, used, replayed; the old token is dead.
    await expectStatus(202, 'POST', '/auth/password/forgot', { email })
    const reset = await linkTo(email, /reset-password/)
    keep('reset link', reset.link)
    keep('reset token', reset.token)
    const resetBody = { token: reset.token, password: newPassword }
    await expectStatus(200, 'POST', '/auth/password/reset', resetBody)
    await expectStatus(400, 'POST', '/auth/password/reset', resetBody)
    await expectStatus(401, 'GET', '/me', undefined, bearer(accessToken))

    // Mail that is never delivered: refused for good, logged as lost.
    const lostEmail = 'victim@lost.example'
    await expectStatus(202, 'POST', '/auth/signup', { email: lostEmail, password: newPassword })

    // Malformed and oversized bodies that carry a password.
    const inMalformed = `malformed body secret ${randomBytes(6).toString('hex')}`
    keep('password in malformed JSON', inMalformed)
    await expectStatus(
      400,
      'POST',
      '/auth/signin',
      `{"email":"${email}","password":"${inMalformed}"`
    )
    const inOversized = `oversized body secret ${randomBytes(6).toString('hex')}`
    keep('password in an oversized body', inOversized)
    await expectStatus(413, 'POST', '/auth/signin', {
      email,
      password: inOversized + 'x'.repeat(1024 * 1024),
    })

    // The argon2 queue full (one hash at a time, one waiting): 503s.
    const busy = `busy secret passphrase ${randomBytes(6).toString('hex')}`
    keep('password sent while busy', busy)
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        call('POST', '/auth/signin', { email: `nobody${index}@r5.example`, password: busy })
      )
    )
    assert.include(
      burst.map((response) => response.status),
      503
    )

    // A database error the app does not expect. A NUL byte no longer gets
    // that far (the validator refuses it with 422), so a constraint the app
    // knows nothing about makes PostgreSQL refuse the insert: a real query
    // error, SQL and all, reaching the handler as a 500.
    const probe = new pg.Client({ connectionString: database!.url })
    await probe.connect()
    try {
      await probe.query(
        `alter table users add constraint r5_probe check (name is distinct from 'R5 probe')`
      )
    } finally {
      await probe.end()
    }
    const inFailure = `failing request secret ${randomBytes(6).toString('hex')}`
    keep('password in a failing request', inFailure)
    await expectStatus(500, 'POST', '/auth/signup', {
      email: 'probe@r5.example',
      password: inFailure,
      name: 'R5 probe',
    })

    // Wait for the lost mail's job to be dead-lettered (after two retries).
    const lostMail = await sink.attempted(lostEmail)
    const lostToken = linkIn(lostMail.text)
    keep('token of the lost mail', lostToken.token)
    keep('link of the lost mail', lostToken.link)
    const deadline = Date.now() + 20_000
    while (!service.output().includes('dead-lettered') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    await service.stop()
    const output = service.output()

    // The failure paths did log, as designed: JSON lines, subject and
    // recipient domain for mail, the error's name/code for the rest.
    const lines = appLogLines(output)
    const messages = lines.map(({ entry }) => (entry as { msg?: string }).msg)
    assert.includeMembers(messages, [
      'background job failed, will retry',
      'background job failed, dead-lettered',
      'dependency unavailable',
      'unhandled error',
    ])
    const lost = lines.find(
      ({ entry }) => (entry as { msg?: string }).msg === 'background job failed, dead-lettered'
    )!
    assert.deepInclude(lost.entry, { job: 'signup_link', recipientDomain: 'lost.example' })
    for (const address of [email, lostEmail]) {
      assert.notInclude(output, address, 'a full recipient address was logged')
    }

    assert.deepEqual(findSecrets(output, secrets), [], 'secrets in the server output')
    const unparsable = plain(output)
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('{'))
    assert.deepEqual(unparsable, [], 'production output is JSON lines only')
    const badLines = lines.filter(({ line }) => looksLikeStack(line) || looksLikeSql(line))
    assert.deepEqual(
      badLines.map(({ line }) => line.slice(0, 300)),
      [],
      'log lines with a stack or SQL'
    )

    const badBodies: string[] = []
    for (const body of bodies) {
      const where = `${body.where} → ${body.status}`
      for (const leak of findSecrets(body.text, secrets)) badBodies.push(`${where}: ${leak}`)
      if (
        looksLikeStack(body.text) ||
        looksLikeSql(body.text) ||
        looksLikeDriverMessage(body.text)
      ) {
        badBodies.push(`${where}: ${body.text}`)
      }
    }
    assert.deepEqual(badBodies, [])
  }).timeout(120_000)
})
