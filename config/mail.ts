import { resolve } from 'node:path'
import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig, transports } from '@adonisjs/mail'
import type { SMTPConfig } from '@adonisjs/mail/types'
import settings, { InvalidSettingError } from '#config/setting'
import FileMailTransport from '#services/file_mail_transport'

/**
 * Mail is sent by the job queue's worker (`mail.send`, app/services/
 * account_mail.ts), which retries and dead-letters it; `sendLater` is not
 * used.
 *
 * SMTP when SMTP_HOST is set. Otherwise, outside production (or when
 * MAIL_DIR is set explicitly), each message is written to a file under
 * MAIL_DIR (default tmp/mail). A production web server without either
 * stops its boot: silently dropping verification and reset mail is never
 * what you want. Only the web server sends mail (its worker runs the
 * jobs); ace commands — the release step first — need no mail settings.
 */
const smtpHost = env.get('SMTP_HOST')
const mailDir = env.get('MAIL_DIR')

if (!smtpHost && !mailDir && app.inProduction && app.getEnvironment() === 'web') {
  throw new InvalidSettingError(
    'mail.transport',
    'SMTP_HOST',
    'set an SMTP server (or MAIL_DIR to write mail to files)'
  )
}

/**
 * The SMTP transport's options (exported for the test that counts its
 * connections).
 */
export const smtpOptions: SMTPConfig = {
  host: smtpHost ?? '127.0.0.1',
  port: env.get('SMTP_PORT', 587),
  secure: env.get('SMTP_SECURE', false),
  auth: env.get('SMTP_USERNAME')
    ? { type: 'login', user: env.get('SMTP_USERNAME')!, pass: env.get('SMTP_PASSWORD', '') }
    : undefined,
  connectionTimeout: 5000,
  greetingTimeout: 5000,
  socketTimeout: 10000,
  // A pool of at most as many connections as the job queue runs jobs at
  // once, each reused for up to 100 messages: a burst of mail no longer
  // opens one connection per message.
  pool: true,
  maxConnections: settings.jobs.concurrency,
  maxMessages: 100,
}

const mailConfig = defineConfig({
  default: smtpHost ? 'smtp' : 'file',

  from: env.get('MAIL_FROM', 'Tessera <no-reply@tessera.local>'),

  mailers: {
    smtp: transports.smtp(smtpOptions),
    // relative to the working directory: the project's root under `npm start`,
    // whose server runs from build/
    file: () => new FileMailTransport(resolve(mailDir ?? 'tmp/mail')),
  },
})

export default mailConfig

declare module '@adonisjs/mail/types' {
  export interface MailersList extends InferMailers<typeof mailConfig> {}
}
