import { SMTPServer, type SMTPServerSession } from 'smtp-server'
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
 * Starts a plain SMTP server (no auth, no STARTTLS) on a free port of
 * 127.0.0.1. `onMessage` gets each message's raw DATA once it has been read
 * in full, with its session, and answers the sender through `callback`.
 */
export async function listenSmtp(
  onMessage: (
    raw: Buffer,
    session: SMTPServerSession,
    callback: (error?: Error | null) => void
  ) => void
) {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => onMessage(Buffer.concat(chunks), session, callback))
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.server.address() as AddressInfo).port }
}

/**
 * Stops a server started by `listenSmtp` (nothing to do if it never started).
 */
export async function closeSmtp(server?: SMTPServer) {
  await new Promise<void>((resolve) => (server ? server.close(resolve) : resolve()))
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
    const { server, port } = await listenSmtp((raw, session, callback) => {
      const envelope = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
      }
      this.messages.push(parse(raw.toString('utf8'), envelope))
      this.#waiters.splice(0).forEach((wake) => wake())
      callback()
    })
    this.#server = server
    return port
  }

  async stop() {
    await closeSmtp(this.#server)
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
