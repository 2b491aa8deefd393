import { test } from '@japa/runner'
import settings from '#config/setting'
import background from '#services/background'
import { registry } from '#services/metrics'
import { signedInUser, withSettings } from '#tests/helpers/accounts'
import { head, rawExchange, rawRequest } from '#tests/security/helpers/raw_http'

const TOKEN = 'metrics-scraper-secret-0123456789'

/** The request counter's value for one set of labels (0 when absent). */
async function requestCount(labels: Record<string, string>) {
  const metric = await registry.getSingleMetric('tessera_http_requests_total')!.get()
  const entry = metric.values.find((value) =>
    Object.entries(labels).every(([name, label]) => value.labels[name] === label)
  )
  return entry?.value ?? 0
}

function withToken(current: typeof settings) {
  current.observability.metricsToken = TOKEN
}

test.group('Health | metrics', () => {
  test('answers 404 while no METRICS_TOKEN is configured', async ({ client, assert }) => {
    assert.isNull(settings.observability.metricsToken)
    const response = await client.get('/metrics').bearerToken(TOKEN)
    response.assertStatus(404)
  })

  test('answers 401 to a scraper without the token', async ({ client }) => {
    await withSettings(withToken, async () => {
      for (const header of [
        undefined,
        'Bearer wrong-token-of-the-same-len',
        `Bearer ${TOKEN}x`,
        TOKEN,
        `Basic ${TOKEN}`,
        `Bearer  ${TOKEN}`,
      ]) {
        const request = client.get('/metrics')
        if (header) request.header('authorization', header)
        const response = await request
        response.assertStatus(401)
        response.assertBodyContains({ errors: [{ code: 'E_UNAUTHORIZED_ACCESS' }] })
      }
    })
  })

  test('takes the Bearer scheme in any case (RFC 7235)', async ({ client }) => {
    await withSettings(withToken, async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const response = await client.get('/metrics').header('authorization', `${scheme} ${TOKEN}`)
        response.assertStatus(200)
      }
    })
  })

  test('counts requests refused below the router: malformed URLs, unreadable or oversized headers', async ({
    assert,
  }) => {
    const malformed = { method: 'GET', route: '(malformed url)', status: '400' }
    const oversized = { method: '-', route: '(unparsed)', status: '431' }
    const before = [await requestCount(malformed), await requestCount(oversized)]
    const bad = await rawRequest('/api/v1/%E0%A4%A', { method: 'GET' })
    assert.equal(bad.status, 400)
    const big = await rawExchange(
      head('GET /api/v1/me HTTP/1.1', [['X-Padding', 'a'.repeat(100_000)]])
    )
    assert.equal(big.status, 431)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await requestCount(malformed), before[0] + 1)
    assert.equal(await requestCount(oversized), before[1] + 1)
  })

  test('serves requests by route pattern, latency, hashing and pool use to the token holder', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client)
    const forgot = await client.post('/api/v1/auth/password/forgot').json({ email: user.email })
    forgot.assertStatus(202)
    await background.idle()
    const me = await client.get('/api/v1/me').bearerToken(token)
    me.assertStatus(200)
    await client.get('/api/v1/me/sessions/12345').bearerToken(token)

    await withSettings(withToken, async () => {
      const response = await client.get('/metrics').bearerToken(TOKEN)
      response.assertStatus(200)
      assert.match(response.header('content-type') ?? '', /^text\/plain/)
      const text = response.text()
      assert.match(
        text,
        /tessera_http_requests_total\{method="GET",route="\/api\/v1\/me",status="200"\} \d+/
      )
      assert.include(
        text,
        'tessera_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/api/v1/me"}'
      )
      assert.match(text, /tessera_hash_operations\{state="running"\} \d+/)
      assert.match(text, /tessera_db_pool_connections\{state="used"\} \d+/)
      // the forgot-password above mailed its link through the job queue
      assert.match(text, /tessera_job_runs_total\{kind="reset_link",outcome="completed"\} [1-9]/)
      for (const state of ['ready', 'deferred', 'active', 'dead']) {
        assert.match(text, new RegExp(`tessera_jobs\\{state="${state}"\\} \\d+`))
      }
      // series are labelled by pattern, never by path or token
      assert.notInclude(text, '/api/v1/me/sessions/12345')
      assert.notInclude(text, token)
    })
  })
})
