import { SMTPServer } from 'smtp-server'
import type { AddressInfo } from 'node:net'

export type ReceivedMail = {
  from: string
  to: string[]
  subject: string
  text: string
}

function decodeQuotedPrintable(body: string) {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16)))
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

function decodeHeader(value: string) {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, encoding: string, text: string) =>
    encoding.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' '))
  )
}

/**
 * Parses the single-part text messages Tessera sends (nodemailer output).
 */
function parse(raw: string, envelope: { from: string; to: string[] }): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/)
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ')
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '')
  const header = (name: string) =>
    head
      .split(/\r?\n/)
      .find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
      ?.slice(name.length + 1)
      .trim() ?? ''
  const encoding = header('Content-Transfer-Encoding').toLowerCase()
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(body)
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body
  return { ...envelope, subject: decodeHeader(header('Subject')), text }
}

/**
 * A real SMTP server (the `smtp-server` package) that the service under test
 * delivers to, keeping every message in memory so tests can read the links
 * they carry. Delivery is asynchronous, hence `waitFor`.
 */
export class Mailbox {
  messages: ReceivedMail[] = []
  #server?: SMTPServer
  #waiters: Array<() => void> = []

  async start() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          }
          this.messages.push(parse(Buffer.concat(chunks).toString('utf8'), envelope))
          this.#waiters.splice(0).forEach((wake) => wake())
          callback()
        })
      },
    })
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
    return (this.#server!.server.address() as AddressInfo).port
  }

  async stop() {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(resolve) : resolve()))
  }

  clear() {
    this.messages = []
  }

  /**
   * Messages delivered to one address, oldest first.
   */
  to(address: string) {
    return this.messages.filter((message) => message.to.includes(address))
  }

  /**
   * Waits until a message for `address` matching `subject` arrives.
   */
  async waitFor(address: string, subject: RegExp, timeoutMs = 5000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const found = this.to(address).find((message) => subject.test(message.subject))
      if (found) return found
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`No mail "${subject}" for ${address} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
}

/**
 * The mailbox every test shares; bin/test.ts starts it and points the
 * service's SMTP settings at it.
 */
export const mailbox = new Mailbox()

/**
 * The first link in a message pointing at `url` (a configured front-end URL).
 */
export function linkIn(mail: ReceivedMail, url: string) {
  // settings.links hold full URLs; the link is "<url>?token=…"
  const match = mail.text.match(
    new RegExp(`${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\?token=[A-Za-z0-9_.\\-]+`)
  )
  if (!match) throw new Error(`No link to ${url} in "${mail.subject}"`)
  return new URL(match[0])
}
