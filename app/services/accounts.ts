import { randomBytes } from 'node:crypto'
import { DateTime } from 'luxon'
import { inject } from '@adonisjs/core'
import hash from '@adonisjs/core/services/hash'
import User from '#models/user'
import TokenModule, { TOKEN_TYPES } from '#modules/token_module'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import { inTransaction } from '#services/transactions'
import background from '#services/background'
import type { AccountMailJob } from '#services/account_mail'
import InvalidTokenException from '#exceptions/invalid_token_exception'
import WrongCurrentPasswordException from '#exceptions/wrong_current_password_exception'
import { unauthorizedAccess } from '#exceptions/unauthorized'

const UNIQUE_VIOLATION = '23505'

/**
 * Commits a mail job (app/services/account_mail.ts runs it) before the
 * request answers: off the request path, and never lost with the process.
 * One address's jobs run one at a time, in order. A job that mails about
 * a change is written in the change's transaction (`trx`): both commit, or
 * neither.
 */
function enqueue(job: AccountMailJob, email: string, trx?: TransactionClientContract) {
  const { kind, ...data } = job
  return background.enqueue(kind, data, email, trx)
}

/**
 * The account flows that span several steps (tokens, users, mail) — kept
 * out of the controllers, which only validate, call one of these and shape
 * the response. Every link and mail is a job in PostgreSQL
 * (`background`): issued and sent after the response, by a worker.
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
   *
   * Only the sign-up that creates the account mails a link carrying its
   * claim (password hash and name). A sign-up for an address that is
   * taken but unverified is a conflicting claim: its notice carries a link
   * without one, which supersedes the first, so whoever follows a link
   * after a conflict chooses a new password (A7, `confirmEmail`).
   */
  async register(input: { email: string; password: string; name?: string | null }) {
    const existing = await User.findBy('email', input.email)
    if (existing) {
      await hash.make(input.password)
      return inTransaction((trx) =>
        enqueue({ kind: 'account_exists', userId: existing.id }, existing.email, trx)
      )
    }
    /**
     * The account and its link's job in one transaction (a sign-up answered
     * 503 leaves no account whose claim no link carries), the password
     * hashed before it begins, so no connection waits on the hash.
     */
    const passwordHash = await hash.make(input.password)
    try {
      await inTransaction(async (trx) => {
        const now = new Date()
        const [row] = await trx
          .insertQuery()
          .table('users')
          .insert({
            email: input.email,
            password: passwordHash,
            name: input.name ?? null,
            roles: ['user'],
            email_verified_at: null,
            created_at: now,
            updated_at: now,
          })
          .returning('id')
        await enqueue({ kind: 'signup_link', userId: row.id }, input.email, trx)
      })
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error
      const taken = await User.findByOrFail('email', input.email)
      await inTransaction((trx) =>
        enqueue({ kind: 'account_exists', userId: taken.id }, taken.email, trx)
      )
    }
  }

  /**
   * Resend: a new link for an unverified account; nothing otherwise. The
   * caller answers the same either way: every address gets the same job,
   * which looks the address up (A2). Whoever asks for it proves nothing
   * but knowing the address, so the link carries no claim: following it
   * confirms the mailbox and lets its owner choose a password (A7).
   */
  async resendVerificationLink(email: string) {
    await enqueue({ kind: 'verification_link', email }, email)
  }

  /**
   * Uses up a verification token and marks the address confirmed.
   *
   * The first proof of the mailbox decides who owns the account
   * (SECURITY.md A7): everything a party who never proved it could have
   * set is replaced or revoked in the same transaction — the password and
   * name become the link's sign-up claim, every other verification link
   * and every session is revoked (reset links stay: they only ever reached
   * the mailbox whose owner is proving it now). A link without a
   * claim (from "resend") leaves the account with no usable password and
   * mails a link to choose one. On an account already confirmed the token
   * changes nothing else.
   *
   * @throws InvalidTokenException for an unknown, used, expired or
   *   wrong-type token.
   */
  async confirmEmail(token: string) {
    const user = await inTransaction(async (trx) => {
      const used = await this.tokens.consume(trx, token, 'email_verification')
      if (!used) throw new InvalidTokenException()
      const owner = await User.query({ client: trx })
        .where('id', used.tokenableId as number)
        .forUpdate()
        .firstOrFail()
      if (owner.emailVerifiedAt) return owner
      /**
       * No claim: a hash of a secret nobody holds, so a sign-in still does
       * the full hash work and fails like any wrong password.
       */
      const passwordHash =
        used.claim?.passwordHash ?? (await hash.make(randomBytes(32).toString('base64url')))
      owner.name = used.claim?.name ?? null
      owner.emailVerifiedAt = DateTime.utc()
      await trx.from('users').where('id', owner.id).update({
        password: passwordHash,
        name: owner.name,
        email_verified_at: owner.emailVerifiedAt.toJSDate(),
        updated_at: new Date(),
      })
      await this.tokens.revokeAll(owner, 'access', { trx })
      await this.tokens.revokeAll(owner, 'email_verification', { trx })
      if (!used.claim)
        await enqueue({ kind: 'choose_password', userId: owner.id }, owner.email, trx)
      return owner
    })
    return user
  }

  /**
   * Forgot password: a reset link for a known address, nothing otherwise —
   * decided by the job, so every address gets the same one (A2).
   */
  async requestPasswordReset(email: string) {
    await enqueue({ kind: 'reset_link', email }, email)
  }

  /**
   * Sets a new password from a reset link. One transaction: the token is
   * used up, the password replaced, every access token and every other reset
   * token of the user revoked — all of it or none (SECURITY.md T8, F2).
   * Following the link proves the mailbox, so the address counts as
   * confirmed too, and pending verification links (with the sign-up claims
   * they carry) are revoked with the rest (A7).
   *
   * The token is checked once before hashing so a bad token costs no hash,
   * and again, under a row lock, inside the transaction.
   */
  async resetPassword(token: string, password: string) {
    if (!(await this.tokens.verify(token, 'password_reset'))) throw new InvalidTokenException()
    const passwordHash = await hash.make(password)
    await inTransaction(async (trx) => {
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
      for (const type of TOKEN_TYPES) await this.tokens.revokeAll(owner, type, { trx })
      await enqueue({ kind: 'password_changed', userId: owner.id }, owner.email, trx)
    })
  }

  /**
   * Password change from a signed-in session: checks the current password
   * (read fresh: the signed-in user is loaded without its hash), sets the
   * new one, and revokes every other session and any pending reset link;
   * the presented session stays.
   *
   * @throws E_UNAUTHORIZED_ACCESS (401) when the account was deleted since
   *   its token was checked.
   * @throws WrongCurrentPasswordException (422 on `currentPassword`).
   */
  async changePassword(
    user: User,
    input: { currentPassword: string; password: string },
    currentTokenId: string | number
  ) {
    const stored = await User.find(user.id)
    if (!stored) throw unauthorizedAccess()
    if (!(await stored.verifyPassword(input.currentPassword))) {
      throw new WrongCurrentPasswordException()
    }
    const passwordHash = await hash.make(input.password)
    await inTransaction(async (trx) => {
      await trx
        .from('users')
        .where('id', user.id)
        .update({ password: passwordHash, updated_at: new Date() })
      await this.tokens.revokeAll(user, 'access', { except: currentTokenId, trx })
      await this.tokens.revokeAll(user, 'password_reset', { trx })
      await enqueue({ kind: 'password_changed', userId: user.id }, user.email, trx)
    })
  }

  /**
   * Sets the signed-in user's profile fields (only what the validator let
   * through: SECURITY.md A3) and returns the saved user.
   */
  async updateProfile(user: User, input: { name: string | null }) {
    user.name = input.name
    await user.save()
    return user
  }
}
