import { appendFileSync } from 'node:fs'
import { ApiClient, type ApiResponse } from '@japa/api-client'
import { mailbox, type ReceivedMail } from '#tests/helpers/mailbox'

/**
 * Opt-in recorder for the R5 security test (tests/security/logs.spec.ts):
 * with `TESSERA_RECORD_SECRETS=<file>`, every secret the tests see — access,
 * verification and reset tokens, the links that carry them, passwords,
 * Authorization values — and every error response body (status >= 400) is
 * appended to the file as one JSON object per line. The R5 test then looks
 * for each secret in the run's output and for stacks or SQL in the bodies.
 *
 * Unset (the default), nothing is installed and every helper behaves
 * exactly as before.
 */
const file = process.env.TESSERA_RECORD_SECRETS

export type RecordedLine =
  | { type: 'secret'; kind: string; value: string }
  | { type: 'errorBody'; status: number; method: string; url: string; text: string }

/**
 * Values shorter than this are not worth looking for (they would match by
 * chance); longer than the cap are oversized-input probes, not secrets.
 */
const MIN_LENGTH = 8
const MAX_LENGTH = 1024
const TOKEN = /\b(?:oat|evt|prt)_[\w-]+\.[\w-]+/g
const SECRET_FIELDS = new Set(['password', 'currentPassword', 'token'])

function append(line: RecordedLine) {
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`)
}

/**
 * Records one secret (no-op unless recording is on).
 */
export function recordSecret(kind: string, value: unknown) {
  if (!file || typeof value !== 'string') return
  if (value.trim().length < MIN_LENGTH || value.length > MAX_LENGTH) return
  append({ type: 'secret', kind, value })
}

function recordTokensIn(kind: string, text: string) {
  for (const match of text.matchAll(TOKEN)) recordSecret(kind, match[0])
}

/**
 * Walks a request or response body: secret-named fields, and anything
 * shaped like a token wherever it sits.
 */
function recordBody(kind: string, body: unknown, depth = 0) {
  if (depth > 20 || body === null || body === undefined) return
  if (typeof body === 'string') {
    recordTokensIn(kind, body)
    return
  }
  if (typeof body !== 'object') return
  for (const [key, value] of Object.entries(body)) {
    if (SECRET_FIELDS.has(key)) recordSecret(`${kind}.${key}`, value)
    recordBody(kind, value, depth + 1)
  }
}

function recordRawBody(kind: string, raw: string) {
  try {
    recordBody(kind, JSON.parse(raw))
  } catch {
    for (const match of raw.matchAll(/"(?:password|currentPassword|token)"\s*:\s*"([^"]*)"/g)) {
      recordSecret(`${kind}.raw`, match[1])
    }
    recordTokensIn(kind, raw)
  }
}

const seenMail = new WeakSet<ReceivedMail>()

/**
 * The links (and their tokens) of every message delivered so far.
 */
function recordMail() {
  for (const message of mailbox.messages) {
    if (seenMail.has(message)) continue
    seenMail.add(message)
    for (const [link] of message.text.matchAll(/https?:\/\/\S+[?&]token=[\w.-]+/g)) {
      recordSecret('mail.link', link)
    }
    recordTokensIn('mail', message.text)
  }
}

function recordExchange(response: ApiResponse) {
  const request = response.request.request as unknown as {
    method: string
    url: string
    _data?: unknown
    get(field: string): string | undefined
  }
  const authorization = request.get('authorization')
  if (typeof authorization === 'string') {
    recordSecret('authorization', authorization)
    recordSecret('authorization.credential', authorization.replace(/^\S+\s+/, ''))
  }
  if (typeof request._data === 'string') recordRawBody('request', request._data)
  else recordBody('request', request._data)

  const text = response.text() ?? ''
  recordRawBody('response', text)
  if (response.status() >= 400) {
    append({
      type: 'errorBody',
      status: response.status(),
      method: request.method,
      url: new URL(request.url).pathname,
      text: text.slice(0, 10_000),
    })
  }
  recordMail()
}

if (file) {
  ApiClient.teardown((response) => recordExchange(response))
  process.on('exit', () => recordMail())
}
