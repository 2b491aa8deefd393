import autocannon, { type Request } from 'autocannon'

export type Sample = {
  requests: number
  seconds: number
  rps: number
  p50: number
  p99: number
  /** Responses whose status was not the expected one, plus socket errors. */
  unexpected: number
}

export type LoadOptions = {
  url: string
  connections: number
  seconds: number
  expect: number
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
  /** Called for every request: pick a token, a user, an email… at random. */
  vary?: (request: Request) => Request
}

/**
 * One autocannon run (no pipelining). Latencies are kept per response at
 * full precision (autocannon's own histogram rounds to whole
 * milliseconds, too coarse for a sub-millisecond p50).
 */
export function load(options: LoadOptions): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = []
    let unexpected = 0
    const started = process.hrtime.bigint()
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        pipelining: 1,
        timeout: 30,
        requests: [
          {
            method: options.method ?? 'GET',
            path: options.path,
            headers: options.headers,
            body: options.body,
            ...(options.vary ? { setupRequest: options.vary } : {}),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error)
        const seconds = Number(process.hrtime.bigint() - started) / 1e9
        latencies.sort((a, b) => a - b)
        resolve({
          requests: latencies.length,
          seconds,
          rps: latencies.length / seconds,
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
          unexpected: unexpected + result.errors + result.timeouts,
        })
      }
    )
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms)
      if (status !== options.expect) unexpected++
    })
  })
}

export function percentile(sorted: number[], fraction: number) {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]
}

export function median(values: number[]) {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const middle = Math.floor(finite.length / 2)
  return finite.length % 2 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2
}
