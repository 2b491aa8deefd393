import { test } from '@japa/runner'
import Harness, { waitUntil } from '#tests/faults/helpers/harness'

/**
 * SECURITY.md F5: the service process SIGKILLed under load (no shutdown
 * hooks, transactions cut wherever they were), then a new process started
 * on the same port. Requests in flight get no answer; afterwards the
 * database holds no partial state: every reset happened whole or not at
 * all, every answered sign-in has its token, nothing is left locked or
 * open.
 */
test.group('Faults | service process', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({ name: 'process' })
    return () => harness.stop()
  })

  for (const kind of ['reset', 'signin'] as const) {
    test(`F5: killed with a ${kind} in flight, restarted`, async ({ assert }) => {
      const report = await harness.runFault({
        name: `F5 service SIGKILLed with a ${kind} in flight, a new process started`,
        inject: async () => {
          await waitUntil(() => harness.driver.inFlight(kind) > 0, 5000)
          await harness.service.kill()
        },
        holdMs: 500,
        remove: () => harness.service.start(),
        ready: 'any',
        serviceDown: true,
        lostAcknowledgementPossible: true,
        // mail queued in the killed process goes with it (see the report)
        mailMayBeLost: true,
      })
      assert.deepEqual(report.failures, [])
    })
  }
})
