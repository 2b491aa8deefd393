import { request } from 'node:http'
import { connect } from 'node:net'

export type RawResponse = {
  status: number
  text: string
  contentType: string
  /** Response headers, names lower-cased. */
  headers: Record<string, string>
  ms: number
}

function origin() {
  return { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT) }
}

/**
 * One request with exactly these headers and body bytes (no serialiser in
 * between, unlike the api-client, which JSON-encodes Buffers), on a fresh
 * connection: a server that answers 413 mid-upload closes it, and a pooled
 * socket would fail the next request.
 */
export function rawRequest(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}
): Promise<RawResponse> {
  const started = performance.now()
  const { host, port } = origin()
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path,
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            contentType: String(res.headers['content-type'] ?? ''),
            headers: Object.fromEntries(
              Object.entries(res.headers).map(([name, value]) => [name, String(value)])
            ),
            ms: performance.now() - started,
          })
        )
      }
    )
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)
    )
    req.end(options.body)
  })
}

/**
 * Writes `message` (request line and headers) and `body` to a socket byte
 * for byte — what an HTTP client library refuses to send: repeated header
 * lines, NUL bytes, folded headers — and parses the answer's status line.
 */
export function rawExchange(message: string, body = '', timeoutMs = 5000): Promise<RawResponse> {
  const started = performance.now()
  const { host, port } = origin()
  return new Promise((resolve) => {
    const socket = connect(port, host, () => socket.write(`${message}\r\n\r\n${body}`))
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    const done = () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      const [headerBlock, ...rest] = text.split('\r\n\r\n')
      const headers = Object.fromEntries(
        headerBlock
          .split('\r\n')
          .slice(1)
          .map((line) => line.split(/: */, 2))
          .map(([name, value]) => [name.toLowerCase(), value ?? ''])
      )
      resolve({
        status: Number(headerBlock.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0),
        text: rest.join('\r\n\r\n'),
        contentType: headers['content-type'] ?? '',
        headers,
        ms: performance.now() - started,
      })
    }
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', done)
    socket.on('error', () => {})
  })
}

/**
 * The request line and headers of a raw exchange, CRLF-joined.
 */
export function head(requestLine: string, headers: Array<[string, string]>) {
  return [
    requestLine,
    'Host: 127.0.0.1',
    ...headers.map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
  ].join('\r\n')
}
