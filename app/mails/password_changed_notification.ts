import { BaseMail } from '@adonisjs/mail'
import type User from '#models/user'

/**
 * Tells the owner that the password changed, so an unexpected change is
 * noticed.
 */
export default class PasswordChangedNotification extends BaseMail {
  subject = 'Your password was changed'

  constructor(private user: User) {
    super()
  }

  prepare() {
    this.message.to(this.user.email)
    this.message.text(
      [
        'The password of your account was just changed, and other devices were signed out.',
        '',
        'If this was not you, reset your password now with "Forgot password" and review',
        'the devices signed in to your account.',
      ].join('\n')
    )
  }
}
