import { crc32 } from 'node:zlib'
import { test } from '@japa/runner'
import { AccessToken } from '@adonisjs/auth/access_tokens'
import { base64 } from '@adonisjs/core/helpers'
import string from '@adonisjs/core/helpers/string'
import TokenModule from '#modules/token_module'
import { createUser, tokenModule } from '#tests/helpers/accounts'
import { stockAccessTokens } from '#bench/stock_provider'
import { SEED_LENGTH, forge, withChecksum, unpack, issue } from '#tests/helpers/token_forgery'

/**
 * The token string (tokens/token_format.ts): what `TokenModule.parse` accepts, and that
 * it agrees with the stock @adonisjs/auth provider.
 */
test.group('Tokens | format', () => {
  /*
  |--------------------------------------------------------------------------
  | parse
  |--------------------------------------------------------------------------
  */

  test('parse accepts a well-formed token and returns its id and secret', async ({ assert }) => {
    const user = await createUser()
    const { value, id } = await issue(user, 'access')

    const parsed = TokenModule.parse(value, 'access')

    assert.isNotNull(parsed)
    assert.equal(parsed!.id, id)
    assert.equal(parsed!.secret.release(), unpack(value).secret)
  })

  test('parse rejects a token with an unknown prefix', async ({ assert }) => {
    const user = await createUser()
    const { value } = await issue(user, 'access')

    assert.isNull(TokenModule.parse(`xyz_${value.slice(4)}`, 'access'))
    assert.isNull(TokenModule.parse(value.slice(4), 'access'))
    assert.isNull(TokenModule.parse(`OAT_${value.slice(4)}`, 'access'))
  })

  test('parse rejects a token that carries the prefix of another type', async ({ assert }) => {
    const user = await createUser()
    const { value: access } = await issue(user, 'access')
    const { value: verification } = await issue(user, 'email_verification')
    const { value: reset } = await issue(user, 'password_reset')

    assert.isNull(TokenModule.parse(access, 'email_verification'))
    assert.isNull(TokenModule.parse(access, 'password_reset'))
    assert.isNull(TokenModule.parse(verification, 'access'))
    assert.isNull(TokenModule.parse(verification, 'password_reset'))
    assert.isNull(TokenModule.parse(reset, 'access'))
    assert.isNull(TokenModule.parse(reset, 'email_verification'))
  })

  test('parse rejects an id or secret that is not base64url', ({ assert }) => {
    const secret = base64.urlEncode(withChecksum(string.random(SEED_LENGTH)))

    assert.isNull(TokenModule.parse(`oat_!!!.${secret}`, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ==.${secret}`, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ.${secret}*`, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ.${secret}=`, 'access'))
    // "MR" and "MQ" both decode to "1"; only "MQ" is canonical (no stray bits).
    assert.isNull(TokenModule.parse(`oat_MR.${secret}`, 'access'))
    // A length no encoding has, and bytes that are not ASCII (never issued).
    assert.isNull(TokenModule.parse(`oat_MTIzNDU2N.${secret}`, 'access'))
    const latin1 = Buffer.from(withChecksum(`${string.random(SEED_LENGTH - 1)}\u00e9`), 'latin1')
    assert.isNull(TokenModule.parse(`oat_MQ.${latin1.toString('base64url')}`, 'access'))
    assert.isNotNull(TokenModule.parse(`oat_MQ.${secret}`, 'access'))
  })

  test('parse rejects a token without the dot between id and secret', ({ assert }) => {
    const secret = base64.urlEncode(withChecksum(string.random(SEED_LENGTH)))

    assert.isNull(TokenModule.parse(`oat_MQ${secret}`, 'access'))
    assert.isNull(TokenModule.parse(`oat_.${secret}`, 'access'))
    assert.isNull(TokenModule.parse('oat_MQ.', 'access'))
    assert.isNull(TokenModule.parse('oat_', 'access'))
    assert.isNull(TokenModule.parse('', 'access'))
  })

  test('parse rejects ids that are not positive 64-bit integers', ({ assert }) => {
    const secret = withChecksum(string.random(SEED_LENGTH))

    for (const id of [
      'abc',
      '1a',
      '1.5',
      ' 1',
      '0',
      '00',
      '01',
      '-1',
      '+1',
      '1e3',
      '9223372036854775808',
      '9223372036854775810',
      '9300000000000000000',
      '18446744073709551616',
      '99999999999999999999',
    ]) {
      assert.isNull(TokenModule.parse(forge('oat_', id, secret), 'access'), `id ${id}`)
    }
    for (const id of ['1', '9223372036854775807', '9223372036854775799', '1999999999999999999']) {
      assert.equal(TokenModule.parse(forge('oat_', id, secret), 'access')?.id, id)
    }
  })

  test('parse rejects a secret whose crc32 checksum does not match', async ({ assert }) => {
    const user = await createUser()
    const { value } = await issue(user, 'access')
    const { prefix, id, secret } = unpack(value)
    const seed = secret.slice(0, SEED_LENGTH)
    const checksum = secret.slice(SEED_LENGTH)

    const flippedSeed = `${seed[0] === 'a' ? 'b' : 'a'}${seed.slice(1)}${checksum}`
    assert.isNull(TokenModule.parse(forge(prefix, id, flippedSeed), 'access'))

    const lastDigit = checksum.at(-1) === '0' ? '1' : '0'
    const flippedChecksum = `${seed}${checksum.slice(0, -1)}${lastDigit}`
    assert.isNull(TokenModule.parse(forge(prefix, id, flippedChecksum), 'access'))

    assert.isNull(TokenModule.parse(forge(prefix, id, seed), 'access'))
    assert.isNull(TokenModule.parse(forge(prefix, id, `${seed}${checksum}0`), 'access'))

    assert.isNull(
      TokenModule.parse(forge(prefix, id, `${seed.slice(1)}${crc32(seed.slice(1))}`), 'access')
    )
    assert.isNotNull(TokenModule.parse(forge(prefix, id, secret), 'access'))
  })

  test('parse accepts a checksum only as String(crc32) writes it', ({ assert }) => {
    /**
     * Seeds whose checksum can be misspelt within 10 characters: one of at
     * most 9 digits (a leading zero fits), one ending in "10" (which ":",
     * the character after "9", would spell "0:" if read as a digit).
     */
    const seedWhere = (accept: (crc: number) => boolean) => {
      while (true) {
        const seed = string.random(SEED_LENGTH)
        if (accept(crc32(seed))) return seed
      }
    }
    const short = seedWhere((crc) => crc < 1e9)
    const endsIn10 = seedWhere((crc) => crc % 100 === 10 && crc >= 100)
    const spellings = [
      `${short}0${crc32(short)}`,
      `${short}+${crc32(short)}`,
      `${short} ${crc32(short)}`,
      `${short}${crc32(short)}.0`,
      `${endsIn10}${String(crc32(endsIn10)).slice(0, -2)}0:`,
    ]
    for (const secret of spellings) {
      assert.isNull(TokenModule.parse(forge('oat_', '1', secret), 'access'), secret)
    }
    for (const seed of [short, endsIn10]) {
      assert.isNotNull(TokenModule.parse(forge('oat_', '1', withChecksum(seed)), 'access'))
    }
  })

  test('parse rejects over-long strings', ({ assert }) => {
    const secret = base64.urlEncode(withChecksum(string.random(SEED_LENGTH)))
    const padded = `oat_${'A'.repeat(300)}.${secret}`

    assert.isNull(TokenModule.parse(padded, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ.${secret}${'A'.repeat(256)}`, 'access'))
    assert.isNull(TokenModule.parse('oat_'.padEnd(100_000, 'A'), 'access'))
  })

  test('parse rejects values that are not strings', async ({ assert }) => {
    const user = await createUser()
    const { value } = await issue(user, 'access')

    for (const input of [
      undefined,
      null,
      42,
      42n,
      true,
      {},
      { value },
      [value],
      Buffer.from(value),
      Object(value),
    ]) {
      assert.isNull(TokenModule.parse(input, 'access'))
    }
  })

  test('parse agrees with the checksum of the stock access-token provider', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()

    const stock = await stockAccessTokens.create(user)
    const value = stock.value!.release()
    assert.isTrue(value.startsWith('oat_'))
    assert.equal(TokenModule.parse(value, 'access')?.id, String(stock.identifier))

    const verified = await tokens.verify(value, 'access')
    assert.equal(verified?.identifier, String(stock.identifier))

    for (let index = 0; index < 200; index++) {
      const secret = AccessToken.seed(SEED_LENGTH).secret.release()
      const seed = secret.slice(0, SEED_LENGTH)
      assert.equal(String(crc32(seed)), secret.slice(SEED_LENGTH))
    }
  })
})
