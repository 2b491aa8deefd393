import { Exception } from '@adonisjs/core/exceptions'

/**
 * A request body that is not UTF-8 `application/json`. Refused before the
 * body is read: a form or `text/plain` post is what a browser sends
 * cross-site without a CORS preflight, so it must never reach a
 * controller (SECURITY.md R6; OWASP CSRF Prevention Cheat Sheet).
 */
export default class UnsupportedMediaTypeException extends Exception {
  static status = 415
  static code = 'E_UNSUPPORTED_MEDIA_TYPE'
  static message = 'Send the request body as JSON, with "Content-Type: application/json"'
}
