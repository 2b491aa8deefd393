/**
 * The part of autocannon's API the benchmark uses (the package ships no
 * types).
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export type Request = {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string
  }

  export type Options = {
    url: string
    connections: number
    duration: number
    pipelining?: number
    timeout?: number
    headers?: Record<string, string>
    requests?: Array<Request & { setupRequest?: (request: Request) => Request }>
  }

  export type Result = {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
  }

  export type Instance = EventEmitter & { stop(): void }

  export default function autocannon(
    options: Options,
    done: (error: Error | null, result: Result) => void
  ): Instance
}
