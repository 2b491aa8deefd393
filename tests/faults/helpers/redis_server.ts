import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { sleep } from '#tests/faults/helpers/processes'

/**
 * Debian's `redis-server` on a fixed loopback port, with nothing written to
 * disk, so the limiter store can be killed, frozen and brought back where
 * the service expects it.
 */
export default class RedisServer {
  #child?: ChildProcess
  #exited?: Promise<void>
  output = ''

  constructor(readonly port: number) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid() {
    return this.#child?.pid
  }

  async start(timeoutMs = 10_000) {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    )
    this.#child = child
    this.#exited = new Promise((resolve) => child.on('exit', () => resolve()))
    child.stdout.on('data', (chunk) => (this.output += chunk))
    child.stderr.on('data', (chunk) => (this.output += chunk))
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await this.ping()) return
      if (child.exitCode !== null) break
      await sleep(50)
    }
    throw new Error(`redis-server did not start on ${this.port}\n${this.output}`)
  }

  /**
   * True when the server answers PING within a second.
   */
  ping() {
    return new Promise<boolean>((resolve) => {
      const socket = connect(this.port, '127.0.0.1')
      const done = (answer: boolean) => {
        socket.destroy()
        resolve(answer)
      }
      socket.setTimeout(1000, () => done(false))
      socket.on('error', () => done(false))
      socket.on('connect', () => socket.write('PING\r\n'))
      socket.on('data', (chunk) => done(chunk.toString().startsWith('+PONG')))
    })
  }

  async kill() {
    if (!this.#child || this.#child.exitCode !== null || this.#child.signalCode !== null) return
    this.#child.kill('SIGKILL')
    await this.#exited
  }

  freeze() {
    this.#child?.kill('SIGSTOP')
  }

  thaw() {
    this.#child?.kill('SIGCONT')
  }

  async stop() {
    this.thaw()
    await this.kill()
  }
}
