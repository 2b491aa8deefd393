import proxyAddr from 'proxy-addr'
import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { Secret } from '@adonisjs/core/helpers'
import { defineConfig } from '@adonisjs/core/http'
import settings from '#config/setting'
import { answerBadUrl } from '#exceptions/transport_errors'

/**
 * The app key encrypts and signs data. Keep it secret: `npm start` writes a
 * fresh one into `.env` when the file is missing.
 */
export const appKey = new Secret(env.get('APP_KEY').release())

/**
 * Only the proxies listed in TRUSTED_PROXIES may set X-Forwarded-For. The
 * framework's default trusts loopback, which would let any local client pick
 * its own rate-limit key (SECURITY.md R3).
 */
const trustProxy =
  settings.trustedProxies.length > 0 ? proxyAddr.compile(settings.trustedProxies) : () => false

export const http = defineConfig({
  generateRequestId: true,
  allowMethodSpoofing: false,
  useAsyncLocalStorage: false,
  trustProxy,
  onBadUrl: answerBadUrl,
  cookie: {
    domain: '',
    path: '/',
    maxAge: '2h',
    httpOnly: true,
    secure: app.inProduction,
    sameSite: 'lax',
  },
})
