import { test } from '@japa/runner'
import { Background } from '#services/background'
import ServiceUnavailableException from '#exceptions/service_unavailable_exception'

/**
 * The queue that issues links after the response (app/services/background.ts).
 * Short retry delays; the work is plain functions, since what is under test
 * is when and how often the queue runs them.
 */
test.group('Background', () => {
  test('runs a task after the caller has gone on, and idle() waits for it', async ({ assert }) => {
    const background = new Background([10])
    const events: string[] = []
    background.run('task', async () => {
      events.push('task')
    })
    events.push('caller')
    assert.equal(background.pending, 1)
    await background.idle()
    assert.deepEqual(events, ['caller', 'task'])
    assert.equal(background.pending, 0)
  })

  test('retries a task while its dependency is unavailable, then runs it', async ({ assert }) => {
    const background = new Background([10, 10, 10])
    let attempts = 0
    background.run('task', async () => {
      attempts++
      if (attempts < 3) throw new ServiceUnavailableException()
    })
    await background.idle()
    assert.equal(attempts, 3)
  })

  test('gives up after its last retry, and at once on any other error', async ({ assert }) => {
    const background = new Background([10, 10])
    let unavailable = 0
    let broken = 0
    background.run('unavailable', async () => {
      unavailable++
      throw new ServiceUnavailableException()
    })
    background.run('broken', async () => {
      broken++
      throw new TypeError('a bug')
    })
    await background.idle()
    assert.equal(unavailable, 3)
    assert.equal(broken, 1)
  })

  test('pause() holds tasks back until resumed', async ({ assert }) => {
    const background = new Background([10])
    let ran = false
    const resume = background.pause()
    background.run('task', async () => {
      ran = true
    })
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.isFalse(ran)
    assert.equal(background.pending, 1)
    resume()
    await background.idle()
    assert.isTrue(ran)
  })
})
