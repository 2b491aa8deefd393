import { randomBytes, randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import type { ApiClient } from '@japa/api-client'
import settings from '#config/setting'
import User from '#models/user'
import TokenModule, { type TokenType } from '#modules/token_module'
import passwordHasher from '#services/password_hasher'
import { recordSecret } from '#tests/helpers/secret_recorder'

export const PASSWORD = 'correct horse battery staple'

/**
 * An address no other test uses.
 */
export function uniqueEmail(tag = 'user') {
  return `${tag}-${randomUUID().slice(0, 8)}@example.com`
}

/**
 * `length` random lower-case ASCII letters.
 */
export function randomLetters(length: number) {
  return [...randomBytes(length)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('')
}

/**
 * A user straight in the database (verified unless asked otherwise).
 */
export async function createUser(
  options: {
    email?: string
    password?: string
    verified?: boolean
    roles?: string[]
    name?: string
  } = {}
) {
  recordSecret('createUser.password', options.password ?? PASSWORD)
  return User.create({
    email: options.email ?? uniqueEmail(),
    password: options.password ?? PASSWORD,
    name: options.name ?? null,
    roles: options.roles ?? ['user'],
    emailVerifiedAt: options.verified === false ? null : DateTime.utc(),
  })
}

/**
 * Signs in over HTTP and returns the access token.
 */
export async function signIn(client: ApiClient, email: string, password = PASSWORD) {
  recordSecret('signIn.password', password)
  const response = await client.post('/api/v1/auth/signin').json({ email, password })
  response.assertStatus(200)
  const token = response.body().data.token as string
  recordSecret('signIn.token', token)
  return token
}

/**
 * A verified user and an access token for them.
 */
export async function signedInUser(
  client: ApiClient,
  options: Parameters<typeof createUser>[0] = {}
) {
  const user = await createUser(options)
  const token = await signIn(client, user.email, options.password)
  return { user, token }
}

/**
 * Spellings of one address share one mail bucket: a forgot-password request
 * for each of `spellings` is answered 202 (they must be exactly as many as
 * the per-email mail limit, three), then one more for `last` gets 429.
 */
export async function assertOneMailBucket(client: ApiClient, spellings: string[], last: string) {
  for (const email of spellings) {
    const response = await client.post('/api/v1/auth/password/forgot').json({ email })
    response.assertStatus(202)
  }
  const fourth = await client.post('/api/v1/auth/password/forgot').json({ email: last })
  fourth.assertStatus(429)
}

/**
 * Spellings of one address share one sign-in bucket: with the per-IP and
 * per-IP+email limits raised so that only the per-email limit (10) can
 * trip, ten wrong passwords spread over `spellings` (each 400) make a right
 * one for `last` answer 429 E_TOO_MANY_REQUESTS.
 */
export async function assertOneSigninBucket(client: ApiClient, spellings: string[], last: string) {
  await withSettings(
    (s) => {
      s.rateLimits.signin.perIp.requests = 1000
      s.rateLimits.signin.perIpEmail.requests = 1000
    },
    async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const failure = await client
          .post('/api/v1/auth/signin')
          .json({ email: spellings[attempt % spellings.length], password: 'a wrong passphrase' })
        failure.assertStatus(400)
      }
      const blocked = await client
        .post('/api/v1/auth/signin')
        .json({ email: last, password: PASSWORD })
      blocked.assertStatus(429)
      blocked.assertBodyContains({ errors: [{ code: 'E_TOO_MANY_REQUESTS' }] })
    }
  )
}

/**
 * Rate-limit counters are shared by every test (all requests come from
 * 127.0.0.1); tests that are not about limits start from zero.
 */
export async function resetRateLimits() {
  await db.from('rate_limits').delete()
}

export async function tokenRows(userId: number, type: TokenType) {
  return db.from('tokens').where({ tokenable_id: userId, type }).orderBy('id', 'asc')
}

/**
 * Moves the expiry of every token of `type` held by the user one second
 * into the past.
 */
export async function expireTokens(userId: number, type: TokenType) {
  await db
    .from('tokens')
    .where({ tokenable_id: userId, type })
    .update({ expires_at: new Date(Date.now() - 1000) })
}

export async function tokenModule() {
  return app.container.make(TokenModule)
}

/**
 * The hasher's operation counter: how many argon2 hashes/verifications
 * ran. Used to prove that work was (or was not) done.
 */
export function hasher() {
  return passwordHasher
}

/**
 * Runs `work` and returns how many argon2 hashes and verifications it
 * started, with its result.
 */
export async function countHashes<T>(work: () => Promise<T>): Promise<[number, T]> {
  const before = passwordHasher.operations
  const result = await work()
  return [passwordHasher.operations - before, result]
}

/**
 * Runs `work` with some settings changed, then restores them. Settings are
 * read on each use, so the change applies to requests made meanwhile.
 */
export async function withSettings<T>(
  change: (current: typeof settings) => void,
  work: () => Promise<T>
) {
  const saved = structuredClone(settings)
  change(settings)
  try {
    return await work()
  } finally {
    restore(settings, saved)
  }
}

/**
 * Copies `saved` back into `target` object by object, so references held
 * elsewhere to nested setting objects see the restored values.
 */
function restore(target: any, saved: any) {
  for (const key of Object.keys(target)) {
    if (!(key in saved)) delete target[key]
  }
  for (const [key, value] of Object.entries(saved)) {
    if (value && typeof value === 'object' && !Array.isArray(value) && target[key])
      restore(target[key], value)
    else target[key] = value
  }
}
