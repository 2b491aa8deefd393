import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import UnsupportedMediaTypeException from '#exceptions/unsupported_media_type_exception'

/**
 * `application/json`, with no charset or `charset=utf-8` (RFC 8259 §8.1:
 * JSON exchanged between systems is UTF-8).
 */
const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

/**
 * Refuses, with 415, any request body that is not JSON, before the body
 * parser reads it (SECURITY.md R6). An empty body (`Content-Length: 0`, or
 * none at all) is accepted whatever its type, since there is nothing to act
 * on. Runs before the body parser on every route.
 *
 * @throws UnsupportedMediaTypeException
 */
export default class JsonBodyMiddleware {
  async handle({ request }: HttpContext, next: NextFn) {
    const headers = request.request.headers
    const hasBody =
      headers['transfer-encoding'] !== undefined ||
      (headers['content-length'] !== undefined && headers['content-length'] !== '0')
    if (hasBody && !JSON_MEDIA_TYPE.test(headers['content-type'] ?? '')) {
      throw new UnsupportedMediaTypeException()
    }
    return next()
  }
}
