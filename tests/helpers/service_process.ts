import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import app from '@adonisjs/core/services/app'

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/**
 * Runs one of the service's entry points (bin/start.ts, bin/server.ts) as a
 * separate process with exactly `env` (plus PATH and HOME), for tests about
 * how the service starts or behaves when its dependencies are missing.
 */
export async function spawnService(script: string, env: Record<string, string>) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import=@poppinss/ts-exec', script], {
    cwd: app.makePath(),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))

  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    /**
     * Polls `path` until it answers `status`; throws with the process output otherwise.
     */
    async waitFor(path: string, status: number, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs
      while (Date.now() < deadline) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}${path}`)
          if (response.status === status) return response
        } catch {}
        if (child.exitCode !== null) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      throw new Error(
        `${path} did not answer ${status} within ${timeoutMs} ms\n--- output ---\n${output}`
      )
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}

/**
 * Runs `node ace.js <args>` with exactly `env` (plus PATH and HOME) and
 * resolves with its output; rejects when it cannot start or exits non-zero.
 */
export async function runAce(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['ace.js', ...args], {
    cwd: app.makePath(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) throw new Error(`ace ${args.join(' ')} exited with ${code}\n${output}`)
  return output
}
