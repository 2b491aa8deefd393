import type { Assert } from '@japa/assert'
import type { ApiResponse } from '@japa/api-client'

type ErrorEntry = Record<string, unknown>

/**
 * An error response of API.md's shape: only `errors`, one entry, with
 * `code` and a message.
 */
export function assertError(assert: Assert, response: ApiResponse, status: number, code: string) {
  response.assertStatus(status)
  const body = response.body()
  assert.deepEqual(Object.keys(body), ['errors'])
  assert.lengthOf(body.errors, 1)
  assert.equal(body.errors[0].code, code)
  assert.isString(body.errors[0].message)
}

/**
 * A 422 whose entries are exactly the given fields (one per field), each
 * `E_VALIDATION_ERROR` with a message and the given rule.
 */
export function assertInvalid(
  assert: Assert,
  response: ApiResponse,
  rules: Record<string, string>
) {
  response.assertStatus(422)
  const errors: ErrorEntry[] = response.body().errors
  assert.sameMembers(
    errors.map((entry) => entry.field),
    Object.keys(rules)
  )
  for (const entry of errors) {
    assert.equal(entry.code, 'E_VALIDATION_ERROR')
    assert.isString(entry.message)
    assert.equal(entry.rule, rules[entry.field as string])
  }
}

/**
 * A 422 about `field` alone: one `E_VALIDATION_ERROR` entry with a message
 * and a rule — or, with `nested`, one or more entries on `field` or its
 * elements (`roles.0`).
 */
export function assertInvalidOn(
  assert: Assert,
  response: ApiResponse,
  field: string,
  options: { nested?: boolean } = {}
) {
  response.assertStatus(422)
  const errors: ErrorEntry[] = response.body().errors
  if (options.nested) {
    assert.isNotEmpty(errors)
  } else {
    assert.deepEqual(
      errors.map((entry) => entry.field),
      [field]
    )
  }
  for (const entry of errors) {
    assert.equal(entry.code, 'E_VALIDATION_ERROR')
    assert.isString(entry.message)
    assert.isString(entry.rule)
    assert.match(String(entry.field), new RegExp(`^${field}(\\.|$)`))
  }
}

/**
 * A `status` response whose body is exactly `{ data: { message } }` with a
 * string message; returns the body.
 */
export function assertMessage(assert: Assert, response: ApiResponse, status: number) {
  response.assertStatus(status)
  const body = response.body()
  assert.deepEqual(Object.keys(body), ['data'])
  assert.deepEqual(Object.keys(body.data), ['message'])
  assert.isString(body.data.message)
  return body
}

/**
 * A 429 whose first error is `E_TOO_MANY_REQUESTS`, with a `retry-after`
 * header of a positive whole number of seconds.
 */
export function assertTooManyRequests(assert: Assert, response: ApiResponse) {
  response.assertStatus(429)
  assert.equal(response.body().errors[0].code, 'E_TOO_MANY_REQUESTS')
  const retryAfter = response.header('retry-after')
  assert.match(retryAfter ?? '', /^\d+$/)
  assert.isAbove(Number(retryAfter), 0)
}

/**
 * A 400 whose errors include one with code `E_INVALID_TOKEN`.
 */
export function assertInvalidToken(response: ApiResponse) {
  response.assertStatus(400)
  response.assertBodyContains({ errors: [{ code: 'E_INVALID_TOKEN' }] })
}
