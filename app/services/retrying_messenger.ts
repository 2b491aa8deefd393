import type { Logger } from '@adonisjs/core/logger'
import type { Mailer } from '@adonisjs/mail'
import type {
  MailerMessenger,
  MailTransportContract,
  NodeMailerMessage,
} from '@adonisjs/mail/types'

type Compiled = Parameters<MailerMessenger['queue']>[0]

/**
 * Sends queued mail off the request path: `sendLater()` returns at once,
 * so a response never waits on (or reveals, by its timing) whether a mail
 * was sent. Failed sends are retried with backoff; a message that still
 * fails is logged as lost — with its subject and recipient's domain, never
 * its body (which carries links that work like passwords).
 */
export default class RetryingMessenger implements MailerMessenger {
  /** Messages waiting or being sent; tests and shutdown read it. */
  pending = 0

  constructor(
    private mailer: Mailer<MailTransportContract>,
    private logger: Logger,
    private delaysMs: number[] = [500, 2000, 8000]
  ) {}

  async queue(mail: Compiled, sendConfig?: unknown) {
    this.pending++
    setImmediate(() => this.#deliver(mail, sendConfig, 0))
  }

  async #deliver(mail: Compiled, sendConfig: unknown, attempt: number) {
    try {
      await this.mailer.sendCompiled(mail, sendConfig)
      this.pending--
    } catch (error) {
      const context = {
        ...describe(mail.message),
        attempt: attempt + 1,
        err: { code: (error as any)?.code },
      }
      if (attempt < this.delaysMs.length) {
        this.logger.warn(context, 'mail delivery failed, will retry')
        setTimeout(
          () => this.#deliver(mail, sendConfig, attempt + 1),
          this.delaysMs[attempt]
        ).unref()
      } else {
        this.pending--
        this.logger.error(context, 'mail delivery failed, message lost')
      }
    }
  }
}

function describe(message: NodeMailerMessage) {
  const to = (message.to ?? []).map((recipient) =>
    typeof recipient === 'string' ? recipient : recipient.address
  )
  return {
    subject: message.subject,
    recipientDomains: to.map((address) => address.slice(address.lastIndexOf('@') + 1)),
  }
}
