import { inject } from '@adonisjs/core'
import { Secret } from '@adonisjs/core/helpers'
import type { HttpContext } from '@adonisjs/core/http'
import db from '@adonisjs/lucid/services/db'
import type pg from 'pg'
import settings from '#config/setting'
import passwordHasher from '#services/password_hasher'
import User, { serializeProfile } from '#models/user'
import TokenModule from '#modules/token_module'
import { UNAUTHORIZED_BODY as UNAUTHORIZED } from '#exceptions/unauthorized'
import { queryStats } from '#bench/instrumentation'
import { stockAccessTokens } from '#bench/stock_provider'

/**
 * Routes for `npm run bench` only (registered by bench/instrumentation.ts
 * in the benchmark's own server): the yardsticks `/api/v1/me` is measured
 * against.
 */
@inject()
export default class BenchController {
  constructor(private tokens: TokenModule) {}

  /**
   * The floor for a signed-in request: one primary-key SELECT through raw
   * `pg` (a named prepared statement, like the TokenModule's) on a
   * connection from the app's pool, answering the same JSON as
   * `GET /api/v1/me` for that user.
   */
  async baseline({ params, response }: HttpContext) {
    const knex = db.connection().getWriteClient()
    const connection: pg.Client = await knex.client.acquireConnection()
    let row
    try {
      const result = await connection.query({
        name: 'bench_baseline',
        text: 'select id, email, name, roles, email_verified_at, created_at from users where id = $1',
        values: [params.id],
      })
      row = result.rows[0]
    } finally {
      knex.client.releaseConnection(connection)
    }
    if (!row)
      return response.notFound({
        errors: [{ code: 'E_ROW_NOT_FOUND', message: 'Resource not found' }],
      })
    return {
      data: {
        id: row.id,
        email: row.email,
        name: row.name,
        roles: row.roles,
        emailVerifiedAt: row.email_verified_at?.toISOString() ?? null,
        createdAt: row.created_at.toISOString(),
      },
    }
  }

  /**
   * `/me` without the auth middleware and guard: the Bearer token straight
   * to TokenModule.authenticate. What is left between this and `/me` is
   * the framework's guard machinery.
   */
  async direct({ request, response }: HttpContext) {
    const [scheme, value, ...rest] = (request.header('authorization') ?? '').split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !value || rest.length > 0) {
      return response.unauthorized(UNAUTHORIZED)
    }
    const result = await this.tokens.authenticate(value)
    if (!result) return response.unauthorized(UNAUTHORIZED)
    return { data: serializeProfile(result.profile) }
  }

  /**
   * `/me` the way the stock @adonisjs/auth token guard does it: the stock
   * DbAccessTokensProvider (same table, same token format) verifies the
   * Bearer token, then the user is loaded by id.
   */
  async stock({ request, response }: HttpContext) {
    const [scheme, value, ...rest] = (request.header('authorization') ?? '').split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !value || rest.length > 0) {
      return response.unauthorized(UNAUTHORIZED)
    }
    const token = await stockAccessTokens.verify(new Secret(value))
    if (!token) return response.unauthorized(UNAUTHORIZED)
    const user = await User.find(token.tokenableId)
    if (!user) return response.unauthorized(UNAUTHORIZED)
    return { data: user.serializeForApi() }
  }

  /**
   * Query counters, hashing settings (for the raw argon2 comparison) and
   * this process's memory.
   */
  async stats() {
    return {
      queries: { ...queryStats },
      hashOperations: passwordHasher.operations,
      hashing: settings.hashing,
      lastUsedInterval: settings.tokens.lastUsedInterval,
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
    }
  }
}
