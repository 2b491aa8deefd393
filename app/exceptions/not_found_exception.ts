import { Exception } from '@adonisjs/core/exceptions'

/**
 * A resource that does not exist, or not for this user (the two are not
 * told apart).
 */
export default class NotFoundException extends Exception {
  static status = 404
  static code = 'E_ROW_NOT_FOUND'
  static message = 'Resource not found'
}
