import { inject } from '@adonisjs/core'
import mail from '@adonisjs/mail/services/main'
import type { BaseMail } from '@adonisjs/mail'
import settings from '#config/setting'
import User from '#models/user'
import TokenModule from '#modules/token_module'
import { resetPasswordLink, verifyEmailLink } from '#services/links'
import type { JobData } from '#services/background'
import VerifyEmailNotification from '#mails/verify_email_notification'
import AccountExistsNotification from '#mails/account_exists_notification'
import ResetPasswordNotification from '#mails/reset_password_notification'
import PasswordChangedNotification from '#mails/password_changed_notification'
import ChoosePasswordNotification from '#mails/choose_password_notification'

/**
 * The jobs `Accounts` enqueues, by kind, with what each carries. Users are
 * named by id, or by address where the request must not look the address
 * up (forgot, resend: SECURITY.md A2).
 */
export type AccountMailJob =
  | { kind: 'signup_link'; userId: number }
  | { kind: 'account_exists'; userId: number }
  | { kind: 'verification_link'; email: string }
  | { kind: 'reset_link'; email: string }
  | { kind: 'choose_password'; userId: number }
  | { kind: 'password_changed'; userId: number }

/**
 * A send the SMTP server did not accept: the transport's error code and
 * the recipient's domain (for the log), never the address or the message.
 */
export class MailDeliveryError extends Error {
  code?: string
  constructor(
    readonly recipientDomain: string,
    cause: unknown
  ) {
    super('mail delivery failed')
    this.name = 'MailDeliveryError'
    this.code = (cause as { code?: string })?.code
  }
}

/**
 * Sends `message` to `user` through the default (pooled) mailer and waits
 * for the SMTP server's answer.
 *
 * @throws MailDeliveryError when the server refuses or cannot be reached.
 */
async function send(user: User, message: BaseMail) {
  try {
    await mail.send(message)
  } catch (error) {
    throw new MailDeliveryError(user.email.slice(user.email.lastIndexOf('@') + 1), error)
  }
}

/**
 * The worker's side of account mail: reads the account as it is now,
 * issues the link's token (here, so no link ever sits in the jobs table)
 * and sends the message, waiting for the SMTP server's answer. A job that
 * throws is retried; running one twice mails a second link that
 * supersedes the first, so one request never leaves two working links.
 */
@inject()
export default class AccountMail {
  constructor(private tokens: TokenModule) {}

  /**
   * Runs one job. `job.key` names the tokens it issues (see
   * TokenModule.create's `issuer`). An account that is gone, or no longer
   * needs the link, gets nothing.
   *
   * @throws the database's or the SMTP transport's error (the job is
   *   retried).
   */
  async deliver(job: JobData) {
    const data = job as unknown as AccountMailJob & { key: string }
    switch (data.kind) {
      case 'signup_link': {
        // Only the sign-up that created the account carries its claim (A7);
        // TokenModule drops it if another link is pending.
        const user = await User.find(data.userId)
        if (!user || user.isVerified) return
        const claim = { passwordHash: user.password, name: user.name }
        return this.#sendVerificationLink(user, data.key, claim)
      }
      case 'verification_link': {
        const user = await User.findBy('email', data.email)
        if (!user || user.isVerified) return
        return this.#sendVerificationLink(user, data.key, null)
      }
      case 'account_exists': {
        const user = await User.find(data.userId)
        if (!user) return
        const link = user.isVerified
          ? null
          : verifyEmailLink(await this.#issue(user, 'email_verification', data.key))
        await send(user, new AccountExistsNotification(user, link))
        return
      }
      case 'reset_link': {
        const user = await User.findBy('email', data.email)
        if (!user) return
        return this.#sendResetLink(user, data.key, ResetPasswordNotification)
      }
      case 'choose_password': {
        const user = await User.find(data.userId)
        if (!user) return
        return this.#sendResetLink(user, data.key, ChoosePasswordNotification)
      }
      case 'password_changed': {
        const user = await User.find(data.userId)
        if (!user) return
        await send(user, new PasswordChangedNotification(user))
        return
      }
      default:
        throw new Error(`Unknown job kind "${(data as { kind: string }).kind}"`)
    }
  }

  async #sendVerificationLink(
    user: User,
    key: string,
    claim: { passwordHash: string; name: string | null } | null
  ) {
    const link = verifyEmailLink(await this.#issue(user, 'email_verification', key, claim))
    const hours = Math.round(settings.tokens.verificationTtl / 3600)
    await send(user, new VerifyEmailNotification(user, link, hours))
  }

  async #sendResetLink(user: User, key: string, Notification: typeof ResetPasswordNotification) {
    const link = resetPasswordLink(await this.#issue(user, 'password_reset', key))
    const minutes = Math.round(settings.tokens.resetTtl / 60)
    await send(user, new Notification(user, link, minutes))
  }

  async #issue(
    user: User,
    type: 'email_verification' | 'password_reset',
    key: string,
    claim: { passwordHash: string; name: string | null } | null = null
  ) {
    const token = await this.tokens.create(user, type, { claim, issuer: `job:${key}` })
    return token.value!.release()
  }
}
