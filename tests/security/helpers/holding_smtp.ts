import type { SMTPServer } from 'smtp-server'
import { closeSmtp, listenSmtp } from '#tests/helpers/mailbox'
import mail from '@adonisjs/mail/services/main'
import { SMTPTransport } from '@adonisjs/mail/transports/smtp'

export type HeldMail = { to: string[]; subject: string; text: string }

/**
 * A real SMTP server that takes each message in full (envelope and DATA)
 * but withholds its "250 OK" until `release()`: from the sender's side the
 * message is in flight, not delivered. Used to show that a response does
 * not wait for delivery (SECURITY.md A2).
 */
export class HoldingSmtpServer {
  received: HeldMail[] = []
  #server?: SMTPServer
  #held: Array<() => void> = []
  #holding = true

  async start() {
    const { server, port } = await listenSmtp((raw, session, callback) => {
      const text = raw.toString('utf8')
      this.received.push({
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
        subject: text.match(/^Subject: (.*)$/im)?.[1]?.trim() ?? '',
        text,
      })
      if (this.#holding) this.#held.push(() => callback())
      else callback()
    })
    this.#server = server
    return port
  }

  /**
   * Acknowledges every held message, and any later one at once.
   */
  release() {
    this.#holding = false
    this.#held.splice(0).forEach((acknowledge) => acknowledge())
  }

  async stop() {
    this.release()
    await closeSmtp(this.#server)
  }
}

/**
 * Points the app's default mailer at another SMTP server until the
 * returned function is called. The app's transport is built at boot from
 * SMTP_HOST/SMTP_PORT (the suite's shared mailbox, whose server the tests
 * cannot pause); the mailer's `transport` is a public property, so only the
 * last hop changes: `sendLater`, the RetryingMessenger and
 * `Mailer#sendCompiled` run as in production.
 */
export function redirectMail(port: number) {
  const mailer = mail.use() as unknown as { transport: unknown }
  const original = mailer.transport
  mailer.transport = new SMTPTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 30_000,
  })
  return () => {
    mailer.transport = original
  }
}
