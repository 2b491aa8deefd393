import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AnsweredRequest } from '#services/request_log'

/**
 * Errors that happen before the framework has a request to hand to the
 * exception handler: a request line or headers Node cannot parse (or that
 * exceed its limit), and a URL whose percent-escapes do not decode. They
 * are answered here, in API.md's one error shape, instead of Node's bodyless
 * status line or the framework's `text/plain` "Bad Request"
 * (SECURITY.md R7). Nothing from the request is echoed.
 */

const HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'Vary': 'Origin',
}

/**
 * The access-log line and metrics of a refused request. Loaded when first
 * needed: config/app.ts imports this file, and every ace command loads the
 * config, so it stays free of the logger, the metrics and the database.
 */
function record(answer: AnsweredRequest) {
  import('#services/request_log')
    .then(({ recordAnsweredRequest }) => recordAnsweredRequest(answer))
    .catch(() => {})
}

function body(code: string, message: string) {
  return JSON.stringify({ errors: [{ code, message }] })
}

/**
 * The `onBadUrl` hook of config/app.ts: a path or query whose escapes do
 * not decode (`/api/v1/%E0%A4%A`) answers 400 `E_BAD_REQUEST`.
 */
export function answerBadUrl(request: IncomingMessage, response: ServerResponse) {
  const text = body('E_BAD_REQUEST', 'The URL is malformed: check its percent-escapes')
  response.writeHead(400, { ...HEADERS, 'Content-Length': Buffer.byteLength(text) })
  response.end(text)
  record({ method: request.method ?? '-', route: '(malformed url)', status: 400 })
}

/**
 * What Node reports through `clientError`, as status, code and message.
 * Header overflow is 431 (RFC 6585 §5); a request that took too long to
 * arrive is 408; anything else Node could not parse is 400.
 */
function describe(error: NodeJS.ErrnoException) {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        code: 'E_REQUEST_HEADER_FIELDS_TOO_LARGE',
        message: 'The request headers are too large',
      }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADER_TIMEOUT':
      return {
        status: 408,
        reason: 'Request Timeout',
        code: 'E_REQUEST_TIMEOUT',
        message: 'The request took too long to arrive',
      }
    default:
      return {
        status: 400,
        reason: 'Bad Request',
        code: 'E_BAD_REQUEST',
        message: 'The request could not be read: malformed request line or headers',
      }
  }
}

/**
 * Node's `clientError` listener: answers in JSON when the socket can still
 * take an answer, then closes it (the connection's framing is lost).
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex) {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const { status, reason, code, message } = describe(error)
  const text = body(code, message)
  const head = Object.entries({
    ...HEADERS,
    'Content-Length': Buffer.byteLength(text),
    'Connection': 'close',
  })
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head}\r\n\r\n${text}`)
  record({ method: '-', route: '(unparsed)', status })
}
