import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import db from '@adonisjs/lucid/services/db'
import passwordHasher from '#services/password_hasher'
import background from '#services/background'
import { withTimeout } from '#services/time_bound'

/**
 * The service's Prometheus metrics (prom-client, the de-facto Node client:
 * maintained, dependency-light, the text format Prometheus scrapes). One
 * registry for the process; `GET /metrics` serialises it.
 *
 * Labels are bounded: a route is its pattern (`/api/v1/me/sessions/:id`),
 * never the path, and an unmatched request is `(unmatched)`, so a client
 * cannot grow the series. Rate-limit refusals are the requests answered
 * 429 (`tessera_http_requests_total{status="429"}`).
 */
export const registry = new Registry()

collectDefaultMetrics({ register: registry, prefix: 'tessera_' })

const requests = new Counter({
  name: 'tessera_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
})

const latency = new Histogram({
  name: 'tessera_http_request_duration_seconds',
  help: 'Time from the request to the end of its response, by method and route pattern',
  labelNames: ['method', 'route'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
})

new Gauge({
  name: 'tessera_hash_operations',
  help: 'argon2 operations running and waiting for a slot (HASH_CONCURRENCY, HASH_QUEUE_LIMIT)',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.set({ state: 'running' }, passwordHasher.running)
    this.set({ state: 'waiting' }, passwordHasher.waiting)
  },
})

new Gauge({
  name: 'tessera_db_pool_connections',
  help: 'Connections of the PostgreSQL pool in use and free, and acquires waiting (DB_POOL_MAX)',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    const pool = db.connection().getWriteClient().client.pool
    if (!pool) return
    this.set({ state: 'used' }, pool.numUsed())
    this.set({ state: 'free' }, pool.numFree())
    this.set({ state: 'pending' }, pool.numPendingAcquires())
  },
})

/**
 * Records one answered request.
 *
 * @param seconds from the request's arrival to the end of its response;
 *   without it (a request Node's parser refused) only the count moves
 */
export function recordRequest(method: string, route: string, status: number, seconds?: number) {
  requests.inc({ method, route, status: String(status) })
  if (seconds !== undefined) latency.observe({ method, route }, seconds)
}

/**
 * Scrapes never wait on a database that does not answer: past this, the
 * job gauges are left out of the scrape (milliseconds).
 */
const JOB_COUNTS_TIMEOUT_MS = 1000

new Gauge({
  name: 'tessera_jobs',
  help: "Account-mail jobs by state (ready, deferred for a retry, active, dead-lettered), as of the job queue's last monitor pass",
  labelNames: ['state'] as const,
  registers: [registry],
  async collect() {
    // a scrape that cannot read the counts shows none, not the last ones
    this.reset()
    const counts = await withTimeout(
      background.counts(),
      JOB_COUNTS_TIMEOUT_MS,
      'job counts timed out'
    ).catch(() => null)
    if (!counts) return
    for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
  },
})

const jobRuns = new Counter({
  name: 'tessera_job_runs_total',
  help: 'Job runs in this process, by kind and outcome (completed, retry, dead: failed and dead-lettered)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
})

background.onRunOutcome(({ kind, outcome }) => jobRuns.inc({ kind, outcome }))
