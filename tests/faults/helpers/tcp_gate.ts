import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP forwarder on a fixed loopback port in front of a server on another
 * port, which the fault tests put in front of the SMTP sink. Three states,
 * as a client sees them:
 * - open: the server answers;
 * - closed: connection refused (open connections reset) — the server is down;
 * - hanging: connections are accepted and never answered — the server hangs;
 * - slow: the server answers, each of its writes held back `delayMs` —
 *   every reply of a conversation arrives, late.
 * Every state change keeps the port.
 */
export default class TcpGate {
  port = 0
  #server?: Server
  #mode: 'forward' | 'hang' | 'slow' = 'forward'
  #delayMs = 0
  #sockets = new Set<Socket>()

  constructor(private targetPort: number) {}

  /** Connections open through the gate (held ones too, while hanging). */
  get connections() {
    return this.#sockets.size
  }

  async open() {
    this.#mode = 'forward'
    this.#dropConnections()
    await this.#listen()
    return this.port
  }

  async hang() {
    this.#mode = 'hang'
    this.#dropConnections()
    await this.#listen()
  }

  /** New connections answer every server write `delayMs` (milliseconds) late. */
  async slow(delayMs: number) {
    this.#mode = 'slow'
    this.#delayMs = delayMs
    this.#dropConnections()
    await this.#listen()
  }

  async close() {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    this.#dropConnections()
    await closed
  }

  #dropConnections() {
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
  }

  #track(socket: Socket) {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
  }

  async #listen() {
    if (this.#server) return
    const server = createServer((client) => {
      this.#track(client)
      client.on('error', () => client.destroy())
      if (this.#mode === 'hang') return
      const upstream = connect(this.targetPort, '127.0.0.1')
      this.#track(upstream)
      upstream.on('error', () => client.destroy())
      client.on('error', () => upstream.destroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.pipe(upstream)
      if (this.#mode === 'forward') {
        upstream.pipe(client)
        return
      }
      const delayMs = this.#delayMs
      upstream.on('data', (chunk) => {
        upstream.pause()
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk)
          upstream.resume()
        }, delayMs)
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    this.port = typeof address === 'object' && address ? address.port : this.port
    this.#server = server
  }
}
