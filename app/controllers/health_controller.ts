import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import limiter from '@adonisjs/limiter/services/main'
import redis from '@adonisjs/redis/services/main'
import lifecycle from '#services/lifecycle'
import { withTimeout } from '#services/time_bound'

const READY_TIMEOUT_MS = 2000

/**
 * Liveness (the process answers) and readiness (this instance should get
 * traffic).
 *
 * Ready means: not draining before a stop, and PostgreSQL answers —
 * without it no route works. The limiter store (Redis) is reported in
 * `checks` but does not decide: when it is down, sign-in and the other
 * counted routes fail closed (503) on every instance alike, while
 * signed-in routes keep working, so taking instances out of a load
 * balancer would only add an outage (`status: "degraded"`).
 *
 * Written by hand rather than with `@adonisjs/core/health` and Lucid's
 * `DbCheck`: those run each check with no time bound, so a frozen
 * PostgreSQL (SECURITY.md F1) would hang the probe a load balancer waits
 * on, and their report is not API.md's `{ data }` / `{ errors }` shape.
 * Each probe here gives up after READY_TIMEOUT_MS.
 */
export default class HealthController {
  async live() {
    return { data: { status: 'ok' } }
  }

  async ready({ response }: HttpContext) {
    if (lifecycle.draining) {
      return response
        .status(503)
        .header('Retry-After', 5)
        .send({
          errors: [{ code: 'E_SERVICE_UNAVAILABLE', message: 'This instance is shutting down' }],
          meta: { checks: { draining: true } },
        })
    }
    const checks: Record<string, 'ok' | 'down'> = {}
    const probes: Record<string, () => Promise<unknown>> = {
      database: () => db.rawQuery('select 1'),
    }
    if (limiter.config.default === 'redis') probes.limiterStore = () => redis.ping()

    await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        checks[name] = await withTimeout(
          probe(),
          READY_TIMEOUT_MS,
          'readiness check timed out'
        ).then(
          () => 'ok' as const,
          () => 'down' as const
        )
      })
    )
    if (checks.database !== 'ok') {
      return response
        .status(503)
        .header('Retry-After', 5)
        .send({
          errors: [{ code: 'E_SERVICE_UNAVAILABLE', message: 'A dependency is not answering' }],
          meta: { checks },
        })
    }
    const degraded = Object.values(checks).some((state) => state !== 'ok')
    return { data: { status: degraded ? 'degraded' : 'ready', checks } }
  }
}
