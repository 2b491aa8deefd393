import { timingSafeEqual } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import settings from '#config/setting'
import NotFoundException from '#exceptions/not_found_exception'
import { unauthorizedAccess } from '#exceptions/unauthorized'
import { registry } from '#services/metrics'

/**
 * `GET /metrics`: the Prometheus text format, for a scraper holding
 * `METRICS_TOKEN` (compared in constant time). Without a configured token
 * the route does not exist (404).
 */
export default class MetricsController {
  async show({ request, response }: HttpContext) {
    const token = settings.observability.metricsToken
    if (!token) throw new NotFoundException()
    const presented = Buffer.from(request.header('authorization') ?? '')
    const expected = Buffer.from(`Bearer ${token}`)
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw unauthorizedAccess()
    }
    response.header('Content-Type', registry.contentType)
    return registry.metrics()
  }
}
