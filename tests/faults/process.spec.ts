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
        // no mailMayBeLost: a reset mail asked for before the kill is a job
        // in PostgreSQL, sent by the new process (F6)
      })
      assert.deepEqual(report.failures, [])
    })
  }

  /**
   * A kill at a random moment of a reset mostly lands in its argon2 hash,
   * before any write. This one lands between its writes: the users table
   * is locked in share mode (reads and row locks still pass, so sign-ins
   * go on; updates wait), the process is killed once a reset waits to
   * write its new password — after it has used up its token — and only
   * then is the lock released. A reset made of one transaction is rolled
   * back whole; one split in two would leave its token used up and the
   * password unchanged.
   */
  test('F5: killed while a reset waits between its writes, restarted', async ({ assert }) => {
    let blocked = 0
    const report = await harness.runFault({
      name: 'F5 service SIGKILLed while a reset waits to write its password',
      inject: async () => {
        const locker = await harness.cluster.connect()
        // pg_stat_activity is read once per transaction: watch from outside the lock's
        const watcher = await harness.cluster.connect()
        try {
          await locker.query('begin')
          await locker.query('lock table users in share mode')
          const deadline = Date.now() + 5000
          while (blocked === 0 && Date.now() < deadline) {
            const { rows } = await watcher.query(
              `select count(*)::int as n from pg_stat_activity
                where application_name = 'tessera' and wait_event_type = 'Lock'
                  and query ~* '^update "users" set "password"'`
            )
            blocked = rows[0].n
            if (blocked === 0) await new Promise((resolve) => setTimeout(resolve, 10))
          }
          await harness.service.kill()
        } finally {
          await locker.query('commit').catch(() => {})
          await locker.end().catch(() => {})
          await watcher.end().catch(() => {})
        }
      },
      holdMs: 500,
      remove: () => harness.service.start(),
      ready: 'any',
      serviceDown: true,
      lostAcknowledgementPossible: true,
    })
    assert.isAbove(blocked, 0, 'no reset was caught waiting to write its password')
    assert.deepEqual(report.failures, [])
  })
})
