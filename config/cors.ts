import { defineConfig } from '@adonisjs/cors'
import settings from '#config/setting'

/**
 * Browsers may call the API from the configured front end only. Bearer
 * tokens travel in a header, not cookies, so credentials stay off.
 */
const corsConfig = defineConfig({
  enabled: true,
  origin: [
    new URL(settings.links.verifyEmail).origin,
    new URL(settings.links.resetPassword).origin,
  ],
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  headers: true,
  exposeHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
  credentials: false,
  maxAge: 600,
})

export default corsConfig
