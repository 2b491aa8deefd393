import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import { createUser, resetRateLimits, uniqueEmail } from '#tests/helpers/accounts'

/**
 * SECURITY.md A1 under odd input: the functional suite proves the answers
 * match for well-formed requests; here the other fields of the request are
 * strange (values PostgreSQL refuses, control characters, Unicode oddities)
 * while the email is valid. An answer that differs between an existing and
 * an unknown address — a 500 on one side only, say — tells the caller
 * whether the address has an account.
 */

const API = '/api/v1'

const strangeNames: Record<string, string> = {
  'a NUL byte': 'Mallory\u0000',
  'a lone surrogate': 'Mallory\uD800',
  'escape and bell characters': 'Mallory\u001B[31m\u0007',
  'a right-to-left override': '\u202EyrollaM',
  'line separators': 'Mal\u2028lory\r\n',
}

async function answer(client: ApiClient, path: string, body: object) {
  const response = await client.post(`${API}${path}`).json(body)
  return { status: response.status(), body: response.body() }
}

test.group('Security | no enumeration under odd input', (group) => {
  group.each.setup(() => resetRateLimits())

  test('A1: a signup with a strange name answers the same for taken, pending and unknown emails', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const differences: string[] = []
    for (const [label, name] of Object.entries(strangeNames)) {
      const password = 'a fine long passphrase'
      const unknown = await answer(client, '/auth/signup', {
        email: uniqueEmail('a1-odd'),
        password,
        name,
      })
      for (const [who, email] of [
        ['taken', verified.email],
        ['pending', unverified.email],
      ]) {
        const known = await answer(client, '/auth/signup', { email, password, name })
        if (
          known.status !== unknown.status ||
          JSON.stringify(known.body) !== JSON.stringify(unknown.body)
        ) {
          differences.push(
            `name with ${label}: ${who} email → ${known.status}, unknown email → ${unknown.status}`
          )
        }
      }
      await resetRateLimits()
    }
    assert.deepEqual(differences, [])
  })

  test('A1: a sign-in with a strange device name answers the same for a wrong password and an unknown email', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const differences: string[] = []
    for (const [label, deviceName] of Object.entries(strangeNames)) {
      const password = 'not the password at all'
      const unknown = await answer(client, '/auth/signin', {
        email: uniqueEmail('a1-odd'),
        password,
        deviceName,
      })
      const known = await answer(client, '/auth/signin', {
        email: verified.email,
        password,
        deviceName,
      })
      if (
        known.status !== unknown.status ||
        JSON.stringify(known.body) !== JSON.stringify(unknown.body)
      ) {
        differences.push(
          `deviceName with ${label}: known → ${known.status}, unknown → ${unknown.status}`
        )
      }
      await resetRateLimits()
    }
    assert.deepEqual(differences, [])
  })
})
