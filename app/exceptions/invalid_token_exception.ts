import { Exception } from '@adonisjs/core/exceptions'

/**
 * A verification or reset token that is unknown, expired, used or of
 * another type. One message for all of them, so the response tells an
 * attacker nothing about which.
 */
export default class InvalidTokenException extends Exception {
  static status = 400
  static code = 'E_INVALID_TOKEN'
  static message = 'The link is invalid or has expired'
}
