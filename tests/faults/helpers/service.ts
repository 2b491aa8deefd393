import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import app from '@adonisjs/core/services/app'
import { sleep } from '#tests/faults/helpers/processes'

/**
 * One JSON line of the service's pino log.
 */
export type LogEntry = {
  level: number
  time: number
  msg?: string
  err?: { name?: string; code?: string; message?: string }
  [key: string]: unknown
}

export const LOG_LEVEL = { warn: 40, error: 50 } as const

/**
 * The environment of a service process in production mode on
 * `databaseUrl`: a fresh APP_KEY, mail written to files under
 * tmp/faults-mail, no drain window (stops are prompt; the drain has its
 * own test), log level warn. Each spec adds or overrides what it tests.
 */
export function productionEnv(databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SHUTDOWN_DRAIN_WINDOW: '0s',
    APP_KEY: randomBytes(32).toString('base64url'),
    DATABASE_URL: databaseUrl,
    MAIL_DIR: app.makePath('tmp', 'faults-mail', String(process.pid)),
    LOG_LEVEL: 'warn',
  }
}

/**
 * The service (bin/server.ts) as a child process in production mode, on a
 * fixed port so that a replacement after a crash answers at the same
 * address. Its JSON log is kept, line by line, as evidence.
 */
export default class ServiceProcess {
  logs: LogEntry[] = []
  /** Lines that are not JSON (boot errors, warnings from Node). */
  text: string[] = []
  #child?: ChildProcess
  #exited?: Promise<void>
  #file?: WriteStream

  /**
   * @param logFile where every line the service prints is also written
   */
  constructor(
    readonly port: number,
    readonly env: Record<string, string>,
    logFile?: string
  ) {
    if (logFile) {
      mkdirSync(dirname(logFile), { recursive: true })
      this.#file = createWriteStream(logFile)
    }
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  get pid() {
    return this.#child?.pid
  }

  get running() {
    return !!this.#child && this.#child.exitCode === null && this.#child.signalCode === null
  }

  async start(timeoutMs = 60_000) {
    const child = spawn(process.execPath, ['--import=@poppinss/ts-exec', 'bin/server.ts'], {
      cwd: app.makePath(),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        PORT: String(this.port),
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#child = child
    this.#exited = new Promise((resolve) => child.on('exit', () => resolve()))
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.#record(line))
    }

    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && this.running) {
      try {
        const response = await fetch(`${this.url}/health/live`, {
          signal: AbortSignal.timeout(2000),
        })
        if (response.status === 200) return
      } catch {}
      await sleep(100)
    }
    throw new Error(
      `the service did not come up within ${timeoutMs} ms\n${this.text.slice(-30).join('\n')}`
    )
  }

  /**
   * A crash: SIGKILL, no shutdown hooks.
   */
  async kill() {
    if (!this.running) return
    this.#child!.kill('SIGKILL')
    await this.#exited
  }

  async stop() {
    if (!this.running) return
    this.#child!.kill('SIGTERM')
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), 5000)
    await this.#exited
    clearTimeout(timer)
    this.#file?.end()
  }

  /**
   * Log entries at `level` or above written from `since` on.
   */
  logsAtLeast(level: number, since = 0) {
    return this.logs.filter((entry) => entry.level >= level && entry.time >= since)
  }

  #record(line: string) {
    this.#file?.write(`${line}\n`)
    if (line.startsWith('{')) {
      try {
        this.logs.push(JSON.parse(line))
        return
      } catch {}
    }
    if (line.trim()) this.text.push(line)
  }
}
