import ResetPasswordNotification from '#mails/reset_password_notification'

/**
 * Sent when an address is confirmed through a link that carried no
 * password (one from "resend"): the account's password was discarded,
 * since whoever set it never proved the mailbox (SECURITY.md A7), and the
 * owner chooses one through a reset link.
 */
export default class ChoosePasswordNotification extends ResetPasswordNotification {
  subject = 'Choose a password for your account'

  protected intro() {
    return [
      'Your email address is confirmed.',
      '',
      'To keep your account yours, the password it was created with no longer works. Choose your',
      'password here:',
    ]
  }

  protected closing() {
    return ['If the link expires, use "Forgot password" to get a new one.']
  }
}
