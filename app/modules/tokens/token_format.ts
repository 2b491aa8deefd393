import { crc32 } from 'node:zlib'
import { Secret } from '@adonisjs/core/helpers'
import { SEED_LENGTH, TOKEN_PREFIXES, type TokenType } from '#modules/tokens/token_types'

/**
 * The token string format, and the one rule for row ids.
 *
 * A token is `<prefix><base64url(id)>.<base64url(secret)>`, the format of
 * @adonisjs/auth's `AccessToken.decode`, where the secret is a
 * 40-character random seed followed by its CRC32 in decimal. `parse`
 * checks all of it in CPU alone, so malformed and forged strings never
 * reach the database (SECURITY.md T3, PERFORMANCE.md P4).
 */

/**
 * The largest row id: `bigint` (bigserial) ids run from 1 to 2^63 − 1.
 */
export const MAX_ROW_ID = '9223372036854775807'

/**
 * A decimal row id from 1 to 2^63 − 1 without leading zeros, as one regular
 * expression (for route `:id` matchers): a shorter number, or one of 19
 * digits that stays below MAX_ROW_ID digit by digit.
 */
export const ROW_ID = rowIdPattern(MAX_ROW_ID)

function rowIdPattern(max: string) {
  const alternatives = [`[1-9]\\d{0,${max.length - 2}}`]
  for (let index = 0; index < max.length; index++) {
    const digit = Number(max[index])
    const lowest = index === 0 ? 1 : 0
    if (digit > lowest) {
      alternatives.push(
        `${max.slice(0, index)}[${lowest}-${digit - 1}]\\d{${max.length - index - 1}}`
      )
    }
  }
  alternatives.push(max)
  return new RegExp(`^(?:${alternatives.join('|')})$`)
}

/**
 * Whether `value` is a row id (see ROW_ID).
 */
export function isRowId(value: unknown): value is string {
  return typeof value === 'string' && ROW_ID.test(value)
}

/**
 * Splits a presented token into its id and secret, or null when the
 * prefix, encoding, id or CRC32 checksum is wrong. Pure CPU, no I/O, and
 * nothing allocated for a refused token: it is decoded into one scratch
 * buffer (safe, since this never yields).
 */
export function parseToken(
  value: unknown,
  type: TokenType
): { id: string; secret: Secret<string> } | null {
  if (typeof value !== 'string' || value.length > 256) return null
  const prefix = TOKEN_PREFIXES[type]
  if (!value.startsWith(prefix)) return null
  const dot = value.indexOf('.', prefix.length)
  if (dot === -1) return null
  const idLength = decodeInto(value, prefix.length, dot, ID_AT)
  if (!isTokenId(idLength)) return null
  const secretLength = decodeInto(value, dot + 1, value.length, SECRET_AT)
  if (secretLength <= SEED_LENGTH || !isChecksum(secretLength - SEED_LENGTH, crc32(SEED))) {
    return null
  }
  return {
    id: SCRATCH.toString('latin1', ID_AT, ID_AT + idLength),
    secret: new Secret(SCRATCH.toString('latin1', SECRET_AT, SECRET_AT + secretLength)),
  }
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const SEXTETS = new Int8Array(128).fill(-1)
for (let index = 0; index < 64; index++) SEXTETS[BASE64URL.charCodeAt(index)] = index

/**
 * Where `parseToken` decodes a token (at most 256 characters, so at most
 * 192 bytes): the id at ID_AT (19 digits at most), the secret at SECRET_AT.
 */
const ID_AT = 0
const SECRET_AT = 32
const SCRATCH = Buffer.alloc(SECRET_AT + 192)
const SEED = SCRATCH.subarray(SECRET_AT, SECRET_AT + SEED_LENGTH)

/**
 * Strict base64url decoding of `value.slice(start, end)` into SCRATCH at
 * `at`: the number of bytes, or -1 unless the slice is the canonical
 * unpadded encoding (no other character, no stray bits) of bytes below
 * 0x80. Every token this module issues encodes ASCII (digits, then a
 * random alphanumeric seed and its CRC32 in decimal).
 */
function decodeInto(value: string, start: number, end: number, at: number) {
  const length = end - start
  if (length === 0 || length % 4 === 1) return -1
  let written = 0
  let pending = 0
  let bits = 0
  for (let index = start; index < end; index++) {
    const code = value.charCodeAt(index)
    const sextet = code < 128 ? SEXTETS[code] : -1
    if (sextet === -1) return -1
    pending = (pending << 6) | sextet
    bits += 6
    if (bits >= 8) {
      bits -= 8
      const byte = pending >> bits
      if (byte > 0x7f) return -1
      SCRATCH[at + written++] = byte
      pending &= (1 << bits) - 1
    }
  }
  return pending === 0 ? written : -1
}

function isDigit(byte: number) {
  return byte >= 0x30 && byte <= 0x39
}

/**
 * Whether the `length` bytes at ID_AT are a row id (the ROW_ID rule, read
 * from the buffer without making a string).
 */
function isTokenId(length: number) {
  if (length < 1 || length > MAX_ROW_ID.length || SCRATCH[ID_AT] === 0x30) return false
  for (let index = 0; index < length; index++) {
    if (!isDigit(SCRATCH[ID_AT + index])) return false
  }
  if (length < MAX_ROW_ID.length) return true
  // as many digits as the largest id: compare them in order
  for (let index = 0; index < length; index++) {
    const difference = SCRATCH[ID_AT + index] - MAX_ROW_ID.charCodeAt(index)
    if (difference !== 0) return difference < 0
  }
  return true
}

/**
 * Whether the `length` bytes after the seed are `crc` written in decimal
 * as `String(crc)` writes it (no sign, no leading zeros).
 */
function isChecksum(length: number, crc: number) {
  const at = SECRET_AT + SEED_LENGTH
  if (length > 10 || (length > 1 && SCRATCH[at] === 0x30)) return false
  let parsed = 0
  for (let index = 0; index < length; index++) {
    const byte = SCRATCH[at + index]
    if (!isDigit(byte)) return false
    parsed = parsed * 10 + (byte - 0x30)
  }
  return parsed === crc
}
