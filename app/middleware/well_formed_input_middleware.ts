import { errors } from '@vinejs/vine'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'

type Failure = { field: string; message: string; rule: string }

/**
 * Refuses, with 422 on the offending field, input that is not valid
 * Unicode text, wherever it appears (SECURITY.md R7):
 * - a string in the JSON body (at any depth, keys included) holding a lone
 *   UTF-16 surrogate, which JSON's `\ud800` escapes can express but UTF-8
 *   cannot: PostgreSQL would store U+FFFD instead, and what was accepted
 *   would differ from what is read back (or, for a password, two different
 *   passwords would hash alike);
 * - a query parameter whose percent-escapes do not decode to UTF-8 (the
 *   query parser would otherwise keep the raw `%ED%A0%80` text).
 *
 * One check for every route and field, so no validator can forget it. Runs
 * after the body parser and before authentication and validation.
 *
 * @throws errors.E_VALIDATION_ERROR (422, API.md's validation shape)
 */
export default class WellFormedInputMiddleware {
  async handle({ request }: HttpContext, next: NextFn) {
    const failures: Failure[] = []
    const query = request.parsedUrl.query
    if (query && query.includes('%')) checkQuery(query, failures)
    checkValue(request.body(), '', failures)
    if (failures.length > 0) throw new errors.E_VALIDATION_ERROR(failures)
    return next()
  }
}

function checkQuery(query: string, failures: Failure[]) {
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=')
    const key = equals === -1 ? pair : pair.slice(0, equals)
    if (decodes(key) && (equals === -1 || decodes(pair.slice(equals + 1)))) continue
    const field = decodes(key) ? decodeURIComponent(key.replaceAll('+', ' ')) : 'query'
    failures.push({
      field,
      rule: 'wellFormed',
      message: `The ${field} parameter must be percent-encoded UTF-8 text`,
    })
  }
}

function decodes(text: string) {
  try {
    return decodeURIComponent(text.replaceAll('+', ' ')).isWellFormed()
  } catch {
    return false
  }
}

/**
 * Walks a parsed JSON value (bounded by the body parser's size limit).
 */
function checkValue(value: unknown, path: string, failures: Failure[]) {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) failures.push(illFormed(path || 'body'))
    return
  }
  if (value === null || typeof value !== 'object') return
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkValue(item, join(path, String(index)), failures))
    return
  }
  for (const [key, item] of Object.entries(value)) {
    if (!key.isWellFormed()) {
      failures.push(illFormed(path || 'body'))
      continue
    }
    checkValue(item, join(path, key), failures)
  }
}

function join(path: string, key: string) {
  return path ? `${path}.${key}` : key
}

function illFormed(field: string): Failure {
  return {
    field,
    rule: 'wellFormed',
    message: `The ${field} field must be valid Unicode text (no lone surrogates)`,
  }
}
