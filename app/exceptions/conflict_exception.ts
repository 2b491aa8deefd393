import { Exception } from '@adonisjs/core/exceptions'

/**
 * The request is well formed but clashes with the current state: a role
 * change that would leave no holder of `*` (SECURITY.md A8). Rendered as
 * 409 `E_CONFLICT` with this message.
 */
export default class ConflictException extends Exception {
  static status = 409
  static code = 'E_CONFLICT'
  static message = 'This conflicts with the current state of the resource'
}
