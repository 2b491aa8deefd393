import { setImmediate as tick } from 'node:timers/promises'
import { test } from '@japa/runner'
import type { HashDriverContract } from '@adonisjs/core/types/hash'
import db from '@adonisjs/lucid/services/db'
import settings from '#config/setting'
import ServiceUnavailableException from '#exceptions/service_unavailable_exception'
import BoundedHasher from '#services/bounded_hasher'
import { createUser, hasher, PASSWORD } from '#tests/helpers/accounts'

/**
 * A hash driver whose operations finish only when the test says so. A fake
 * is right here: what is under test is BoundedHasher's concurrency bound
 * and queue, not hashing (the real argon2 driver is checked at the end).
 */
class GatedDriver implements HashDriverContract {
  running = 0
  peak = 0
  started: string[] = []
  #pending = new Map<string, { finish: () => void; fail: (error: Error) => void }>()

  isValidHash(value: string) {
    return value.startsWith('gated:')
  }

  needsReHash(value: string) {
    return value === 'gated:old'
  }

  make(value: string) {
    return this.#run(value, () => `gated:${value}`)
  }

  verify(hashedValue: string, plainValue: string) {
    return this.#run(plainValue, () => hashedValue === `gated:${plainValue}`)
  }

  /**
   * Lets the operation started for `label` finish (or fail).
   */
  async release(label: string, error?: Error) {
    const pending = this.#pending.get(label)
    if (!pending) throw new Error(`"${label}" has not started`)
    if (error) pending.fail(error)
    else pending.finish()
    await settle()
  }

  #run<T>(label: string, result: () => T) {
    this.running++
    this.peak = Math.max(this.peak, this.running)
    this.started.push(label)
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(label, {
        finish: () => {
          this.running--
          resolve(result())
        },
        fail: (error) => {
          this.running--
          reject(error)
        },
      })
    })
  }
}

/**
 * Lets queued promise callbacks run.
 */
async function settle() {
  for (let index = 0; index < 5; index++) await tick()
}

function argon2Parameters(phc: string) {
  const match = phc.match(/^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[\w+/]+\$[\w+/]+$/)
  return match ? { m: Number(match[1]), t: Number(match[2]), p: Number(match[3]) } : null
}

test.group('Hashing | bounded hasher', () => {
  test('never runs more operations at once than its concurrency', async ({ assert }) => {
    const driver = new GatedDriver()
    const bounded = new BoundedHasher(driver, 2, 100)
    const labels = ['a', 'b', 'c', 'd', 'e', 'f']

    const results = labels.map((label, index) =>
      index % 2 === 0 ? bounded.make(label) : bounded.verify(`gated:${label}`, label)
    )
    await settle()
    assert.deepEqual(driver.started, ['a', 'b'])

    for (const label of labels) {
      assert.isAtMost(driver.running, 2)
      await driver.release(label)
    }

    assert.deepEqual(await Promise.all(results), [
      'gated:a',
      true,
      'gated:c',
      true,
      'gated:e',
      true,
    ])
    assert.equal(driver.peak, 2)
    assert.equal(driver.running, 0)
  })

  test('runs waiting operations in the order they arrived', async ({ assert }) => {
    const driver = new GatedDriver()
    const bounded = new BoundedHasher(driver, 1, 100)
    const labels = ['first', 'second', 'third', 'fourth', 'fifth']

    const results = labels.map((label) => bounded.make(label))
    await settle()
    assert.deepEqual(driver.started, ['first'])

    await driver.release('first')
    assert.deepEqual(driver.started, ['first', 'second'])
    for (const label of labels.slice(1)) await driver.release(label)

    assert.deepEqual(driver.started, labels)
    assert.deepEqual(
      await Promise.all(results),
      labels.map((label) => `gated:${label}`)
    )
    assert.equal(driver.peak, 1)
  })

  test('refuses operations beyond the queue limit with a 503', async ({ assert }) => {
    const driver = new GatedDriver()
    const bounded = new BoundedHasher(driver, 1, 2)
    const accepted = ['running', 'waiting-1', 'waiting-2'].map((label) => bounded.make(label))
    await settle()

    const overflow = await bounded.make('overflow').then(
      () => null,
      (error: unknown) => error
    )

    assert.instanceOf(overflow, ServiceUnavailableException)
    const error = overflow as ServiceUnavailableException
    assert.equal(error.status, 503)
    assert.equal(error.code, 'E_SERVICE_UNAVAILABLE')
    assert.isAbove(error.retryAfter, 0)
    assert.notInclude(driver.started, 'overflow')

    await assert.rejects(() => bounded.verify('gated:overflow', 'overflow'))

    for (const label of ['running', 'waiting-1', 'waiting-2']) await driver.release(label)
    assert.deepEqual(await Promise.all(accepted), [
      'gated:running',
      'gated:waiting-1',
      'gated:waiting-2',
    ])

    const later = bounded.make('later')
    await settle()
    await driver.release('later')
    assert.equal(await later, 'gated:later')
  })

  test('counts the operations it runs', async ({ assert }) => {
    const driver = new GatedDriver()
    const bounded = new BoundedHasher(driver, 1, 1)
    assert.equal(bounded.operations, 0)

    const made = bounded.make('one')
    const verified = bounded.verify('gated:two', 'two')
    const refused = bounded.make('three').catch((error: unknown) => error)
    await settle()
    await driver.release('one')
    await driver.release('two')

    assert.equal(await made, 'gated:one')
    assert.isTrue(await verified)
    assert.instanceOf(await refused, ServiceUnavailableException)
    assert.equal(bounded.operations, 2)

    assert.isTrue(bounded.isValidHash('gated:x'))
    assert.isFalse(bounded.isValidHash('$argon2id$'))
    assert.isTrue(bounded.needsReHash('gated:old'))
    assert.isFalse(bounded.needsReHash('gated:new'))
    assert.equal(bounded.operations, 2)
  })

  test('frees the slot of an operation that fails', async ({ assert }) => {
    const driver = new GatedDriver()
    const bounded = new BoundedHasher(driver, 1, 10)

    const failing = bounded.make('failing').catch((error: Error) => error.message)
    const next = bounded.make('next')
    await settle()
    await driver.release('failing', new Error('driver crashed'))

    assert.equal(await failing, 'driver crashed')
    assert.deepEqual(driver.started, ['failing', 'next'])
    await driver.release('next')
    assert.equal(await next, 'gated:next')
    assert.equal(driver.running, 0)
  })

  test('stores argon2id hashes with at least the OWASP parameters', async ({ assert }) => {
    const hash = await hasher()

    const made = await hash.make('a long and unusual passphrase')
    const parameters = argon2Parameters(made)
    assert.isNotNull(parameters, made)
    assert.isAtLeast(parameters!.m, 19456)
    assert.isAtLeast(parameters!.t, 2)
    assert.isAtLeast(parameters!.p, 1)
    assert.equal(parameters!.m, settings.hashing.memoryKib)
    assert.equal(parameters!.t, settings.hashing.iterations)
    assert.equal(parameters!.p, settings.hashing.parallelism)
    assert.isTrue(await hash.verify(made, 'a long and unusual passphrase'))
    assert.isFalse(await hash.verify(made, 'a long and unusual passphrase '))

    const user = await createUser()
    const row = await db.from('users').where('id', user.id).select('password').firstOrFail()
    const stored = argon2Parameters(row.password)
    assert.isNotNull(stored, 'the users table holds an argon2id PHC string')
    assert.isAtLeast(stored!.m, 19456)
    assert.isAtLeast(stored!.t, 2)
    assert.isAtLeast(stored!.p, 1)
    assert.notInclude(row.password, PASSWORD)
    assert.isTrue(await hash.verify(row.password, PASSWORD))
  })

  test('exposes the operation count of the hasher the app uses', async ({ assert }) => {
    const hash = await hasher()
    const before = hash.operations
    assert.isNumber(before, 'hasher().operations is the BoundedHasher counter')

    await hash.make('counted once')

    assert.equal(hash.operations, before + 1)
  })
})
