/**
 * `work`'s result, or a rejection with `Error(message)` once `ms`
 * milliseconds have passed, whichever comes first; the timer is cleared
 * either way. `work` itself is not cancelled: for checks that must answer
 * in bounded time (readiness, a metrics scrape) while a dependency hangs.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  return Promise.race([work, expired]).finally(() => clearTimeout(timer))
}
