import { DateTime } from 'luxon'
import { inject } from '@adonisjs/core'
import hash from '@adonisjs/core/services/hash'
import mail from '@adonisjs/mail/services/main'
import settings from '#config/setting'
import User from '#models/user'
import TokenModule from '#modules/token_module'
import { resetPasswordLink, verifyEmailLink } from '#services/links'
import { inTransaction } from '#services/transactions'
import background from '#services/background'
import InvalidTokenException from '#exceptions/invalid_token_exception'
import VerifyEmailNotification from '#mails/verify_email_notification'
import AccountExistsNotification from '#mails/account_exists_notification'
import ResetPasswordNotification from '#mails/reset_password_notification'
import PasswordChangedNotification from '#mails/password_changed_notification'

const UNIQUE_VIOLATION = '23505'

/**
 * The account flows that span several steps (tokens, users, mail) — kept
 * out of the controllers, which only validate, call one of these and shape
 * the response. Links are issued after the response (`background`), and
 * every mail goes through `sendLater`: off the request path.
 */
@inject()
export default class Accounts {
  constructor(private tokens: TokenModule) {}

  /**
   * Sign-up whose outcome the caller cannot observe: a new account gets a
   * confirmation link, an existing one an "account exists" notice; both
   * paths hash the password once, and links are issued after the response,
   * so neither the response nor its timing tells whether the address was
   * known (SECURITY.md A1, A2). What still differs is the new account's
   * INSERT.
   */
  async register(input: { email: string; password: string; name?: string }) {
    const existing = await User.findBy('email', input.email)
    if (existing) {
      await hash.make(input.password)
      return this.#notifyExisting(existing)
    }
    let user: User
    try {
      user = await User.create({
        email: input.email,
        password: input.password,
        name: input.name ?? null,
        roles: ['user'],
        emailVerifiedAt: null,
      })
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error
      return this.#notifyExisting(await User.findByOrFail('email', input.email))
    }
    background.run('verification link', () => this.sendVerificationLink(user))
  }

  /**
   * Issues a fresh verification token (superseding older ones) and mails
   * its link to the stored address.
   */
  async sendVerificationLink(user: User) {
    const link = verifyEmailLink(await this.#issue(user, 'email_verification'))
    const hours = Math.round(settings.tokens.verificationTtl / 3600)
    await mail.sendLater(new VerifyEmailNotification(user, link, hours))
  }

  /**
   * Resend: a new link for an unverified account; nothing otherwise. The
   * caller answers the same either way.
   */
  async resendVerificationLink(email: string) {
    const user = await User.findBy('email', email)
    if (user && !user.isVerified) {
      background.run('verification link', () => this.sendVerificationLink(user))
    }
  }

  /**
   * Uses up a verification token and marks the address confirmed.
   */
  async confirmEmail(token: string) {
    return inTransaction(async (trx) => {
      const used = await this.tokens.consume(trx, token, 'email_verification')
      if (!used) throw new InvalidTokenException()
      const user = await User.query({ client: trx })
        .where('id', used.tokenableId as number)
        .forUpdate()
        .firstOrFail()
      if (!user.emailVerifiedAt) {
        user.emailVerifiedAt = DateTime.utc()
        await user.save()
      }
      return user
    })
  }

  /**
   * Forgot password: a reset link for a known address, nothing otherwise.
   */
  async requestPasswordReset(email: string) {
    const user = await User.findBy('email', email)
    if (!user) return
    background.run('password reset link', async () => {
      const link = resetPasswordLink(await this.#issue(user, 'password_reset'))
      const minutes = Math.round(settings.tokens.resetTtl / 60)
      await mail.sendLater(new ResetPasswordNotification(user, link, minutes))
    })
  }

  /**
   * Sets a new password from a reset link. One transaction: the token is
   * used up, the password replaced, every access token and every other reset
   * token of the user revoked — all of it or none (SECURITY.md T8, F2).
   * Following the link proves the mailbox, so the address counts as
   * confirmed too.
   *
   * The token is checked once before hashing so a bad token costs no hash,
   * and again, under a row lock, inside the transaction.
   */
  async resetPassword(token: string, password: string) {
    if (!(await this.tokens.verify(token, 'password_reset'))) throw new InvalidTokenException()
    const passwordHash = await hash.make(password)
    const user = await inTransaction(async (trx) => {
      const used = await this.tokens.consume(trx, token, 'password_reset')
      if (!used) throw new InvalidTokenException()
      const owner = await User.query({ client: trx })
        .where('id', used.tokenableId as number)
        .forUpdate()
        .firstOrFail()
      await trx
        .from('users')
        .where('id', owner.id)
        .update({
          password: passwordHash,
          email_verified_at: owner.emailVerifiedAt?.toJSDate() ?? new Date(),
          updated_at: new Date(),
        })
      await this.tokens.revokeAll(owner, 'access', { trx })
      await this.tokens.revokeAll(owner, 'password_reset', { trx })
      return owner
    })
    await mail.sendLater(new PasswordChangedNotification(user))
  }

  /**
   * Password change from a signed-in session: the presented session stays,
   * every other one (and any pending reset link) is revoked.
   */
  async changePassword(user: User, password: string, currentTokenId: string | number) {
    const passwordHash = await hash.make(password)
    await inTransaction(async (trx) => {
      await trx
        .from('users')
        .where('id', user.id)
        .update({ password: passwordHash, updated_at: new Date() })
      await this.tokens.revokeAll(user, 'access', { except: currentTokenId, trx })
      await this.tokens.revokeAll(user, 'password_reset', { trx })
    })
    await mail.sendLater(new PasswordChangedNotification(user))
  }

  #notifyExisting(user: User) {
    background.run('account exists notice', async () => {
      const link = user.isVerified
        ? null
        : verifyEmailLink(await this.#issue(user, 'email_verification'))
      await mail.sendLater(new AccountExistsNotification(user, link))
    })
  }

  async #issue(user: User, type: 'email_verification' | 'password_reset') {
    const token = await this.tokens.create(user, type)
    return token.value!.release()
  }
}
