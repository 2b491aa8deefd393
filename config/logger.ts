import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig, targets } from '@adonisjs/core/logger'

/**
 * Structured JSON logs in production, pretty ones in development, none in
 * tests unless LOG_LEVEL asks. Secrets never reach a log line: request
 * logging is limited to method, URL path and status, and the paths below
 * are redacted in case a future log call passes a whole request or body.
 */
const loggerConfig = defineConfig({
  default: 'app',

  loggers: {
    app: {
      enabled: true,
      name: 'tessera',
      level: env.get('LOG_LEVEL', app.inTest ? 'silent' : 'info'),
      redact: {
        paths: [
          'password',
          'currentPassword',
          'token',
          'authorization',
          '*.password',
          '*.currentPassword',
          '*.token',
          '*.authorization',
          'headers.authorization',
          'req.headers.authorization',
          'request.headers.authorization',
        ],
        censor: '[redacted]',
      },
      transport: {
        targets: targets()
          .pushIf(!app.inProduction && !app.inTest, targets.pretty())
          .pushIf(app.inProduction || app.inTest, targets.file({ destination: 1 }))
          .toArray(),
      },
    },
  },
})

export default loggerConfig

/**
 * Inferring types for the list of loggers you have configured
 * in your application.
 */
declare module '@adonisjs/core/types' {
  export interface LoggersList extends InferLoggers<typeof loggerConfig> {}
}
