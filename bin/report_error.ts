/**
 * How the entry points report an error that stops them: one line on stderr
 * naming the problem and, where known, the fix — no code frame, no stack,
 * colour only on a terminal (never into a log file). The stack follows
 * when LOG_LEVEL is `debug` or `trace`, for errors that are bugs rather
 * than configuration.
 */

type Described = { problem: string; fix?: string }

function describe(error: any): Described {
  if (!(error instanceof Error)) return { problem: String(error) }
  const code = (error as any).code
  if (code === 'E_INVALID_ENV_VARIABLES') {
    const lines = String((error as any).help ?? '')
      .split('\n')
      .map((line) => line.replace(/^-\s*/, '').trim())
      .filter(Boolean)
    return {
      problem: lines.join('; ') || error.message,
      fix: 'set it in .env (see .env.example) or the environment; the README lists every setting',
    }
  }
  if (error.name === 'InvalidSettingError') {
    return { problem: error.message, fix: 'fix the value in .env or the environment' }
  }
  if (code === 'EADDRINUSE') {
    const address = (error as any).address
    const port = (error as any).port
    return {
      problem: `${address ?? 'the address'}:${port ?? process.env.PORT} is already in use (another Tessera or another program listens there)`,
      fix: 'stop it, or set PORT to a free port',
    }
  }
  const cause = error.cause instanceof Error ? ` (${error.cause.message.split('\n')[0]})` : ''
  return { problem: `${error.message.split('\n')[0]}${cause}` }
}

/**
 * Writes `error` to stderr as one line (see the file's comment).
 */
export function reportError(error: unknown, prefix = 'tessera') {
  const { problem, fix } = describe(error)
  const line = `${prefix}: ${problem}${fix ? ` — ${fix}` : ''}`
  const colour = process.stderr.isTTY && !process.env.NO_COLOR
  process.stderr.write(colour ? `\u001B[31m${line}\u001B[39m\n` : `${line}\n`)
  const verbose = ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '')
  const expected = (error as any)?.code === 'E_INVALID_ENV_VARIABLES' || fix !== undefined
  if (verbose && !expected && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`)
  }
}
