import { randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import { MailResponse } from '@adonisjs/mail'
import type { MailTransportContract, NodeMailerMessage } from '@adonisjs/mail/types'
import logger from '@adonisjs/core/services/logger'

/**
 * Development transport: writes each message as an .eml file under a
 * folder and logs the file's path (never its content, which carries links
 * that work like passwords). Used when no SMTP server is configured.
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
    await writeFile(file, info.message as Buffer, { mode: 0o600 })
    logger.info({ file }, 'mail written to a file (no SMTP server configured)')
    return new MailResponse(info.messageId, info.envelope, info)
  }
}
