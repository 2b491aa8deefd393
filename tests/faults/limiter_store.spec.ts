import { test } from '@japa/runner'
import Harness from '#tests/faults/helpers/harness'

/**
 * SECURITY.md F3 with LIMITER_STORE=redis and a real redis-server that the
 * suite starts (Debian's binary; CI runs on this machine, where it is
 * installed). The service's choice is to fail closed: while the store
 * cannot count, every rate-limited route (sign-in, forgot, reset, verify)
 * answers 503 — never an unlimited guess — and signed-in routes carry on.
 */
test.group('Faults | limiter store', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({ name: 'limiter-store', limiterStore: 'redis' })
    return () => harness.stop()
  })

  test('F3: Redis killed mid-load', async ({ assert }) => {
    const redis = harness.redis!
    const report = await harness.runFault({
      name: 'F3 limiter store down (redis-server SIGKILLed), restarted after 4 s',
      inject: () => redis.kill(),
      holdMs: 4000,
      remove: () => redis.start(),
      // readiness does not hang on the limiter store (health_controller.ts)
      ready: 'up',
      unavailable: ['signin', 'guess', 'forgot', 'reset', 'verify'],
      failClosed: ['signin', 'guess', 'forgot', 'reset', 'verify'],
      unaffected: ['me'],
    })
    assert.deepEqual(report.failures, [])
  })

  test('F3: Redis frozen mid-load', async ({ assert }) => {
    const redis = harness.redis!
    const report = await harness.runFault({
      name: 'F3 limiter store hung (redis-server SIGSTOPped) for 4 s',
      inject: async () => redis.freeze(),
      holdMs: 4000,
      remove: async () => redis.thaw(),
      // readiness does not hang on the limiter store (health_controller.ts)
      ready: 'up',
      unavailable: ['signin', 'guess', 'forgot', 'reset', 'verify'],
      failClosed: ['signin', 'guess', 'forgot', 'reset', 'verify'],
      unaffected: ['me'],
    })
    assert.deepEqual(report.failures, [])
  })
})
