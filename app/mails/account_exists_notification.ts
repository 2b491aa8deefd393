import { BaseMail } from '@adonisjs/mail'
import type User from '#models/user'

/**
 * Sent instead of a second account when someone signs up with an address
 * that already has one. The sign-up response is the same either way; only
 * the owner of the mailbox learns the account exists. An unverified account
 * gets a fresh confirmation link too.
 */
export default class AccountExistsNotification extends BaseMail {
  subject = 'You already have an account'

  constructor(
    private user: User,
    private verifyLink: string | null
  ) {
    super()
  }

  prepare() {
    this.message.to(this.user.email)
    const lines = [
      'Someone (hopefully you) tried to sign up with this email address, which already has an account.',
      '',
      'Sign in instead. If you forgot your password, use "Forgot password" to choose a new one.',
    ]
    if (this.verifyLink) {
      lines.push('', 'Your address is not confirmed yet. Confirm it here:', '', this.verifyLink)
    }
    lines.push('', 'If this was not you, you can ignore this message.')
    this.message.text(lines.join('\n'))
  }
}
