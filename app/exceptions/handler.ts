import app from '@adonisjs/core/services/app'
import router from '@adonisjs/core/services/router'
import { errors as vineErrors } from '@vinejs/vine'
import { errors as limiterErrors } from '@adonisjs/limiter'
import { ExceptionHandler, type HttpContext } from '@adonisjs/core/http'
import ServiceUnavailableException, {
  isUnavailableError,
} from '#exceptions/service_unavailable_exception'
import { UNAUTHORIZED_MESSAGE } from '#exceptions/unauthorized'

type ErrorEntry = { code: string; message: string; field?: string; rule?: string }

type Rendered = {
  status: number
  errors: ErrorEntry[]
  headers?: Record<string, string | number>
}

/**
 * Renders every error as API.md's one shape,
 * `{ errors: [{ code, message, field?, rule? }] }`, with no stack, SQL or
 * driver message ever reaching the client. Logs server-side failures with
 * their code and name only, so request data (passwords, tokens) can never
 * ride along in a log line.
 */
export default class HttpExceptionHandler extends ExceptionHandler {
  protected debug = false
  protected renderStatusPages = false

  protected render(error: any, ctx: HttpContext): Rendered {
    if (error?.code === 'E_ROUTE_NOT_FOUND') {
      const allowed = allowedMethods(ctx)
      if (allowed.length > 0) {
        return {
          status: 405,
          errors: [
            {
              code: 'E_METHOD_NOT_ALLOWED',
              message: `This route accepts ${allowed.join(', ')} only`,
            },
          ],
          headers: { Allow: allowed.join(', ') },
        }
      }
    }

    if (error instanceof vineErrors.E_VALIDATION_ERROR) {
      return {
        status: 422,
        errors: (error.messages as Array<{ field: string; message: string; rule: string }>).map(
          (entry) => ({
            code: 'E_VALIDATION_ERROR',
            message: entry.message,
            field: entry.field,
            rule: entry.rule,
          })
        ),
      }
    }

    if (error instanceof limiterErrors.E_TOO_MANY_REQUESTS) {
      const headers = error.getDefaultHeaders()
      return {
        status: 429,
        errors: [{ code: 'E_TOO_MANY_REQUESTS', message: 'Too many requests, try again later' }],
        headers: { ...headers, 'Retry-After': Math.max(1, Number(headers['Retry-After']) || 1) },
      }
    }

    if (isUnavailableError(error)) {
      const retryAfter = error instanceof ServiceUnavailableException ? error.retryAfter : 5
      return {
        status: 503,
        errors: [
          {
            code: 'E_SERVICE_UNAVAILABLE',
            message: 'The service is temporarily unavailable, try again shortly',
          },
        ],
        headers: { 'Retry-After': retryAfter },
      }
    }

    const status = Number(error?.status)
    if (error instanceof SyntaxError && status === 400) {
      return {
        status: 400,
        errors: [{ code: 'E_BAD_REQUEST', message: 'The request body is not valid JSON' }],
      }
    }
    if (isUnreadableBody(error)) {
      return {
        status: 400,
        errors: [{ code: 'E_BAD_REQUEST', message: 'The request body could not be read' }],
      }
    }
    if (status === 422 && error?.message === 'Invalid JSON, only supports object and array') {
      return {
        status: 400,
        errors: [{ code: 'E_BAD_REQUEST', message: 'The request body must be a JSON object' }],
      }
    }

    if (Number.isInteger(status) && status >= 400 && status < 500) {
      return {
        status,
        errors: [
          {
            code: typeof error.code === 'string' ? error.code : `E_HTTP_${status}`,
            message: this.#clientMessage(error, status),
          },
        ],
      }
    }

    return {
      status: 500,
      errors: [{ code: 'E_INTERNAL_SERVER_ERROR', message: 'Something went wrong on our side' }],
    }
  }

  /**
   * Messages of the app's and the framework's own 4xx exceptions are
   * written for clients; anything else gets a generic one.
   */
  #clientMessage(error: any, status: number) {
    switch (error.code) {
      case 'E_ROUTE_NOT_FOUND':
        return 'Route not found'
      case 'E_ROW_NOT_FOUND':
        return 'Resource not found'
      case 'E_UNAUTHORIZED_ACCESS':
        return UNAUTHORIZED_MESSAGE
      case 'E_INVALID_CREDENTIALS':
        return 'Invalid email or password'
      case 'E_REQUEST_ENTITY_TOO_LARGE':
        return 'The request body is too large'
    }
    if (
      typeof error.code === 'string' &&
      /^E_[A-Z_]+$/.test(error.code) &&
      error.constructor?.status
    ) {
      return String(error.message)
    }
    return status === 404 ? 'Not found' : 'The request could not be processed'
  }

  async handle(error: unknown, ctx: HttpContext) {
    const rendered = this.render(error, ctx)
    for (const [name, value] of Object.entries(rendered.headers ?? {})) {
      ctx.response.header(name, value)
    }
    ctx.response.status(rendered.status).send({ errors: rendered.errors })
  }

  /**
   * Only server-side failures are logged: a 4xx is the client's business
   * and its request may carry what must never reach a log (R5).
   */
  protected shouldReport(error: { status: number }) {
    return error.status >= 500
  }

  /**
   * A dependency that is down (503) is a warning; anything else an error.
   */
  protected getErrorLogLevel(error: { status: number }) {
    return error.status === 503 ? 'warn' : 'error'
  }

  protected context(ctx: HttpContext) {
    return {
      method: ctx.request.method(),
      route: ctx.route?.pattern ?? ctx.request.url(),
      requestId: ctx.request.id(),
    }
  }

  /**
   * The framework's `report()`, which would log the whole error (its
   * message can carry SQL and bindings), with the error first reduced to
   * what may be logged: name, code, the driver's message without the SQL,
   * and outside production the stack frames. The status is classified
   * here without rendering a body.
   */
  async report(error: any, ctx: HttpContext) {
    const status = isClientError(error) ? 400 : isUnavailableError(error) ? 503 : 500
    if (!this.shouldReport({ status })) return
    const err = {
      name: error?.name,
      code: error?.code,
      message: summary(error),
      stack: app.inProduction ? undefined : redactedStack(error),
    }
    ctx.logger.log(
      this.getErrorLogLevel({ status }),
      { status, err, ...this.context(ctx) },
      status === 503 ? 'dependency unavailable' : 'unhandled error'
    )
  }
}

/**
 * An error the client caused, answered 4xx (see `render`).
 */
function isClientError(error: any) {
  if (error instanceof vineErrors.E_VALIDATION_ERROR) return true
  if (error instanceof limiterErrors.E_TOO_MANY_REQUESTS) return true
  if (isUnreadableBody(error)) return true
  const status = Number(error?.status)
  return Number.isInteger(status) && status >= 400 && status < 500
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/**
 * The methods the request's path has routes for, when its own method has
 * none: a known path with the wrong method is 405 with `Allow`, not 404
 * (RFC 9110 §15.5.6). Computed on the 404 path only.
 */
function allowedMethods(ctx: HttpContext) {
  const url = ctx.request.url()
  const decode = ctx.request.parsedUrl.shouldDecodeParam
  return METHODS.filter((method) => router.match(url, method, decode) !== null)
}

/**
 * A body the parser could not take in: a compressed body that does not
 * decompress, or JSON nested so deeply that copying it overflows the stack.
 */
function isUnreadableBody(error: any) {
  const code = typeof error?.code === 'string' ? error.code : ''
  if (
    code.startsWith('Z_') ||
    code.startsWith('ERR__ERROR_FORMAT') ||
    code === 'ERR_BROTLI_DECOMPRESSION_FAILED'
  ) {
    return true
  }
  return error instanceof RangeError && /call stack/i.test(error.message)
}

/**
 * The driver's own message, without the SQL (and its bindings) that knex
 * prepends to query errors.
 */
function summary(error: any): string {
  const message = String(error?.message ?? '')
  const separator = message.lastIndexOf(' - ')
  return (separator >= 0 ? message.slice(separator + 3) : message).slice(0, 200)
}

/**
 * Stack frames only (development): the first line, which may carry a
 * query and its values, is dropped.
 */
function redactedStack(error: any): string | undefined {
  if (typeof error?.stack !== 'string') return undefined
  return error.stack
    .split('\n')
    .filter((line: string) => line.trim().startsWith('at '))
    .join('\n')
}
