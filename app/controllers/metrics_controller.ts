import { timingSafeEqual } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import settings from '#config/setting'
import NotFoundException from '#exceptions/not_found_exception'
import { unauthorizedAccess } from '#exceptions/unauthorized'
import { registry } from '#services/metrics'

/**
 * `GET /metrics`: the Prometheus text format, for a scraper holding
 * `METRICS_TOKEN` as `Authorization: Bearer <token>` (the scheme in any
 * case, RFC 7235 §2.1; the token compared in constant time). Without a
 * configured token the route does not exist (404).
 */
export default class MetricsController {
  async show({ request, response }: HttpContext) {
    const token = settings.observability.metricsToken
    if (!token) throw new NotFoundException()
    const header = request.header('authorization') ?? ''
    const scheme = /^bearer /i.exec(header)?.[0] ?? ''
    const presented = Buffer.from(header.slice(scheme.length))
    const expected = Buffer.from(token)
    if (!scheme || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw unauthorizedAccess()
    }
    response.header('Content-Type', registry.contentType)
    return registry.metrics()
  }
}
