import { Exception } from '@adonisjs/core/exceptions'

/**
 * Signed in, but without any of the roles the route asks for.
 */
export default class AuthorizationException extends Exception {
  static status = 403
  static code = 'E_AUTHORIZATION_FAILURE'
  static message = 'You are not allowed to do this'
}
