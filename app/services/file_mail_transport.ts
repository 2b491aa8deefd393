import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import { MailResponse } from '@adonisjs/mail'
import type { MailTransportContract, NodeMailerMessage } from '@adonisjs/mail/types'
import logger from '@adonisjs/core/services/logger'

/**
 * Quoted-printable to text: soft line breaks joined, `=XX` bytes decoded
 * as UTF-8.
 */
function decodeQuotedPrintable(body: string) {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16)))
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

/**
 * The message with every quoted-printable text part rewritten as plain
 * 8-bit text (a valid transfer encoding), part by part through multipart
 * boundaries. Nodemailer quoted-prints any text with a line over 76
 * characters, which every link is: `=3D` and soft line breaks would break a
 * link copied from the file.
 */
export function readableMessage(message: string): string {
  const end = message.indexOf('\n\n')
  if (end === -1) return message
  const headers = message.slice(0, end)
  const body = message.slice(end + 2)
  const unfolded = headers.replace(/\n[ \t]+/g, ' ')
  const boundary = /^content-type:\s*multipart\/[^\n]*boundary="?([^";\n]+)"?/im.exec(unfolded)?.[1]
  if (boundary) {
    const parts = body.split(`--${boundary}`)
    const rewritten = parts.map((part, index) =>
      index === 0 || part.startsWith('--') || !part.startsWith('\n')
        ? part
        : `\n${readableMessage(part.slice(1))}`
    )
    return `${headers}\n\n${rewritten.join(`--${boundary}`)}`
  }
  const qp = /^content-transfer-encoding:\s*quoted-printable\s*$/im
  if (!qp.test(headers)) return message
  return `${headers.replace(qp, 'Content-Transfer-Encoding: 8bit')}\n\n${decodeQuotedPrintable(body)}`
}

/**
 * Development transport: writes each message as an .eml file under a
 * folder and logs the file's path (never its content, which carries links
 * that work like passwords). Text parts are written as plain text, so a
 * link can be copied from the file as it is. Used when no SMTP server is
 * configured.
 */
export default class FileMailTransport implements MailTransportContract {
  #transporter = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'unix',
  })

  constructor(private directory: string) {}

  async send(message: NodeMailerMessage) {
    const info = await this.#transporter.sendMail(message)
    await mkdir(this.directory, { recursive: true })
    const file = join(
      this.directory,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`
    )
    const content = readableMessage((info.message as Buffer).toString('utf8'))
    await writeFile(file, content, { mode: 0o600 })
    logger.info({ file }, 'mail written to a file (no SMTP server configured)')
    return new MailResponse(info.messageId, info.envelope, info)
  }
}
