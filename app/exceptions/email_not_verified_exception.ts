import { Exception } from '@adonisjs/core/exceptions'

/**
 * Sign-in with the right password before the email was confirmed.
 */
export default class EmailNotVerifiedException extends Exception {
  static status = 403
  static code = 'E_EMAIL_NOT_VERIFIED'
  static message = 'Confirm your email address before signing in'
}
