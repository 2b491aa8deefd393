import { BaseMail } from '@adonisjs/mail'
import type User from '#models/user'

/**
 * The link that confirms a new account's email address.
 */
export default class VerifyEmailNotification extends BaseMail {
  subject = 'Confirm your email address'

  constructor(
    private user: User,
    private link: string,
    private hoursValid: number
  ) {
    super()
  }

  prepare() {
    this.message.to(this.user.email)
    this.message.text(
      [
        `Hello${this.user.name ? ` ${this.user.name}` : ''},`,
        '',
        'Confirm your email address to finish setting up your account:',
        '',
        this.link,
        '',
        `The link works once and expires in ${this.hoursValid} hours.`,
        'If you did not sign up, ignore this message.',
      ].join('\n')
    )
  }
}
