import { setTimeout as sleep } from 'node:timers/promises'
import { crc32 } from 'node:zlib'
import { base64 } from '@adonisjs/core/helpers'
import string from '@adonisjs/core/helpers/string'
import logger from '@adonisjs/core/services/logger'
import db from '@adonisjs/lucid/services/db'
import settings, { type Settings } from '#config/setting'
import type User from '#models/user'
import TokenModule, { type TokenType } from '#modules/token_module'
import { tokenModule } from '#tests/helpers/accounts'

/**
 * Helpers of the token unit tests: forging token strings, reading rows,
 * counting queries.
 */

export const SEED_LENGTH = 40

/**
 * A token string in the stock format, `<prefix><base64url(id)>.<base64url(secret)>`,
 * so tests can forge ids, secrets and checksums.
 */
export function forge(prefix: string, id: string, secret: string) {
  return `${prefix}${base64.urlEncode(id)}.${base64.urlEncode(secret)}`
}

/**
 * A seed followed by its CRC32, the way the auth package builds secrets.
 */
export function withChecksum(seed: string) {
  return `${seed}${crc32(seed)}`
}

/**
 * The id and secret inside a token string.
 */
export function unpack(value: string) {
  const [encodedId, encodedSecret] = value.slice(4).split('.')
  return {
    prefix: value.slice(0, 4),
    id: base64.urlDecode(encodedId)!,
    secret: base64.urlDecode(encodedSecret)!,
  }
}

/**
 * A second secret for an existing id: well formed, valid checksum, wrong.
 */
export function wrongSecretFor(value: string) {
  const { prefix, id } = unpack(value)
  return forge(prefix, id, withChecksum(string.random(SEED_LENGTH)))
}

export async function issue(user: User, type: TokenType, name?: string) {
  const tokens = await tokenModule()
  const token = await tokens.create(user, type, { name })
  return { token, value: token.value!.release(), id: String(token.identifier) }
}

export async function tokenRow(id: string | number) {
  return db.from('tokens').where('id', String(id)).first()
}

export async function setColumns(id: string | number, columns: Record<string, unknown>) {
  await db.from('tokens').where('id', String(id)).update(columns)
}

/**
 * Waits for `read` to satisfy `done` (asynchronous writes), or gives up.
 */
export async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 2000
) {
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await sleep(25)
    value = await read()
  }
  return value
}

/**
 * Counts the statements sent to PostgreSQL while `work` runs.
 */
export async function countQueries(work: () => Promise<unknown>) {
  const knex = db.connection().getWriteClient()
  let count = 0
  const listener = () => count++
  knex.on('query', listener)
  try {
    await work()
  } finally {
    knex.removeListener('query', listener)
  }
  return count
}

/**
 * A TokenModule of its own over the same database, for settings that the
 * container's singleton reads once at construction (token lifetimes).
 */
export function moduleWith(tokenSettings: Partial<Settings['tokens']>) {
  return new TokenModule(
    db,
    { ...settings, tokens: { ...settings.tokens, ...tokenSettings } },
    logger
  )
}

export function secondsFromNow(date: Date | string | null) {
  return (new Date(date!).getTime() - Date.now()) / 1000
}
