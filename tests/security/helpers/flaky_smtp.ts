import type { SMTPServer } from 'smtp-server'
import { closeSmtp, listenSmtp } from '#tests/helpers/mailbox'

export type SeenMail = { to: string[]; text: string; accepted: boolean }

/**
 * A real SMTP server that makes delivery fail on purpose: the first attempt
 * at each message is refused with a temporary error (451), later attempts
 * are accepted, and mail for `lostDomain` is refused for good (550). Every
 * message is read in full before the refusal, so a test knows the links
 * even of mail that was never delivered.
 */
export class FlakySmtpServer {
  seen: SeenMail[] = []
  #server?: SMTPServer
  #attempts = new Map<string, number>()

  constructor(private lostDomain: string) {}

  async start() {
    const { server, port } = await listenSmtp((raw, session, callback) => {
      const to = session.envelope.rcptTo.map((rcpt) => rcpt.address)
      const text = raw.toString('utf8')
      const subject = text.match(/^Subject: (.*)$/im)?.[1] ?? ''
      const key = `${to.join(',')}|${subject}`
      const attempt = (this.#attempts.get(key) ?? 0) + 1
      this.#attempts.set(key, attempt)
      const lost = to.some((address) => address.endsWith(`@${this.lostDomain}`))
      const accepted = !lost && attempt > 1
      this.seen.push({ to, text, accepted })
      if (accepted) return callback()
      const error = new Error(lost ? 'Mailbox unavailable' : 'Try again later')
      callback(Object.assign(error, { responseCode: lost ? 550 : 451 }))
    })
    this.#server = server
    return port
  }

  /**
   * Waits for an accepted message to `address` whose text matches.
   */
  async accepted(address: string, pattern: RegExp, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const found = this.seen.find(
        (mail) => mail.accepted && mail.to.includes(address) && pattern.test(mail.text)
      )
      if (found) return found
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`No accepted mail matching ${pattern} for ${address}`)
  }

  /**
   * Waits for a first attempt (accepted or refused) to deliver to `address`:
   * delivery is asynchronous and may lag behind the request under load.
   */
  async attempted(address: string, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const found = this.seen.find((mail) => mail.to.includes(address))
      if (found) return found
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`No delivery attempt for ${address}`)
  }

  async stop() {
    await closeSmtp(this.#server)
  }
}
