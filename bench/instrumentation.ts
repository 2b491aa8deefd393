/*
|--------------------------------------------------------------------------
| Benchmark-only routes and counters (`npm run bench`)
|--------------------------------------------------------------------------
|
| Loaded by bench/server_entry.ts, the entry point of the servers the
| benchmark starts; the shipped app (bin/server.ts) never loads it.
|
| - a query counter around pg.Client#query, so round trips per request are
|   counted by the server itself rather than reasoned about;
| - a baseline route (one primary-key SELECT, the same user JSON as /me);
| - /me verified by the stock @adonisjs/auth DbAccessTokensProvider;
| - /me's TokenModule work without the auth middleware and guard;
| - the counters, the hashing settings and the process memory.
|
*/

import { subscribe } from 'node:diagnostics_channel'
import pg from 'pg'
import router from '@adonisjs/core/services/router'
import settings from '#config/setting'
import { ROW_ID } from '#modules/tokens/token_format'

/**
 * HTTP requests received and queries sent to PostgreSQL since boot. `touches` are the TokenModule's
 * coalesced `last_used_at` writes (off the request path); `touchRepeats`
 * counts a token written twice within `lastUsedInterval`, which must stay 0.
 */
export const queryStats = {
  requests: 0,
  total: 0,
  reads: 0,
  writes: 0,
  touches: 0,
  touchRepeats: 0,
  touchedTokens: 0,
}

const TOUCH = /^\s*update tokens set last_used_at = now\(\)/i
const lastTouch = new Map<string, number>()

function record(config: unknown, values: unknown) {
  const text = typeof config === 'string' ? config : String((config as any)?.text ?? '')
  const bindings = (Array.isArray(values) ? values : (config as any)?.values) ?? []
  queryStats.total++
  if (/^\s*select\b/i.test(text)) {
    queryStats.reads++
  } else if (TOUCH.test(text)) {
    queryStats.touches++
    const id = String(bindings[0])
    const now = Date.now()
    const previous = lastTouch.get(id)
    if (previous !== undefined && now - previous < settings.tokens.lastUsedInterval * 1000) {
      queryStats.touchRepeats++
    }
    lastTouch.set(id, now)
    queryStats.touchedTokens = lastTouch.size
  } else {
    queryStats.writes++
  }
}

subscribe('http.server.request.start', (message) => {
  const { request } = message as { request: { url?: string } }
  if (!request.url?.startsWith('/_bench/stats')) queryStats.requests++
})
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  /**
   * The job queue's own connections (`tessera-jobs`) poll for work on a
   * timer, whatever the requests do: they are not a request's round trips.
   */
  const applicationName = (
    this as unknown as { connectionParameters?: { application_name?: string } }
  ).connectionParameters?.application_name
  if (applicationName !== 'tessera-jobs') record(args[0], args[1])
  return query.apply(this, args)
} as typeof pg.Client.prototype.query

const BenchController = () => import('#bench/bench_controller')
router
  .group(() => {
    router.get('users/:id', [BenchController, 'baseline']).where('id', ROW_ID)
    router.get('stock/me', [BenchController, 'stock'])
    router.get('direct/me', [BenchController, 'direct'])
    router.get('stats', [BenchController, 'stats'])
  })
  .prefix('/_bench')
