import { BaseMail } from '@adonisjs/mail'
import type User from '#models/user'

/**
 * The link that lets the owner of the mailbox choose a new password.
 */
export default class ResetPasswordNotification extends BaseMail {
  subject = 'Reset your password'

  constructor(
    private user: User,
    private link: string,
    private minutesValid: number
  ) {
    super()
  }

  /**
   * The lines above the link.
   */
  protected intro() {
    return [
      'Someone asked to reset the password of your account.',
      '',
      'Choose a new password here:',
    ]
  }

  /**
   * The lines below the link.
   */
  protected closing() {
    return ['If you did not ask for this, ignore this message: your password stays as it is.']
  }

  prepare() {
    this.message.to(this.user.email)
    this.message.text(
      [
        ...this.intro(),
        '',
        this.link,
        '',
        `The link works once and expires in ${this.minutesValid} minutes. Every device signed in to`,
        'your account will be signed out when the password changes.',
        ...this.closing(),
      ].join('\n')
    )
  }
}
