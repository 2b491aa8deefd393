import { test } from '@japa/runner'
import { hashConcurrencyFor } from '#config/setting'

test.group('Settings | argon2 budget per host', () => {
  test('one instance takes the cores but one, at least one', ({ assert }) => {
    assert.equal(hashConcurrencyFor(1, 1), 1)
    assert.equal(hashConcurrencyFor(2, 1), 1)
    assert.equal(hashConcurrencyFor(8, 1), 7)
  })

  test('instances on one host share that budget instead of each taking all of it', ({ assert }) => {
    for (const [cores, instances] of [
      [8, 2],
      [8, 3],
      [16, 4],
      [32, 5],
    ]) {
      const each = hashConcurrencyFor(cores, instances)
      assert.isAtMost(each * instances, cores - 1, `${instances} instances on ${cores} cores`)
      assert.isAtLeast(each, 1)
    }
    assert.equal(hashConcurrencyFor(8, 2), 3)
    // more instances than spare cores: one hash each, the least that works
    assert.equal(hashConcurrencyFor(2, 4), 1)
  })
})
