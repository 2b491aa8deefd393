/**
 * Stop signals for the entry points that start other processes (`npm
 * start`, `npm run dev`, the test runner, ace commands with an embedded
 * PostgreSQL): SIGINT from a terminal, SIGTERM from `kill`, an IDE or a
 * process manager, SIGHUP from a closed terminal or multiplexer pane.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

const NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }

/**
 * Runs `stop` on the first stop signal (later ones are ignored while it
 * runs), then exits with the code `stop` returns (a supervised server's
 * own, 0 after a clean shutdown) or else 128 + the signal's number, as a
 * shell reports a process ended by that signal.
 */
export function onStopSignal(
  stop: (signal: NodeJS.Signals) => Promise<number | void> | number | void
) {
  let stopping = false
  for (const signal of STOP_SIGNALS) {
    process.on(signal, async () => {
      if (stopping) return
      stopping = true
      let code = 128 + NUMBERS[signal]
      try {
        const own = await stop(signal)
        if (typeof own === 'number') code = own
      } finally {
        process.exit(code)
      }
    })
  }
}

/**
 * Runs `stop` and exits when this process's parent goes away (npm killed
 * by a signal it does not forward, such as SIGHUP or SIGKILL): the
 * processes this one started must not outlive the command a person ran.
 */
export function onOrphaned(stop: () => Promise<unknown> | unknown) {
  const parent = process.ppid
  const timer = setInterval(async () => {
    if (process.ppid === parent) return
    clearInterval(timer)
    try {
      await stop()
    } finally {
      process.exit(1)
    }
  }, 500)
  timer.unref()
}
