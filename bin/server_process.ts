/**
 * How `npm start` (bin/start.ts) and `npm run bench` start bin/server.ts:
 * the same Node flags and memory settings, so the benchmark measures what
 * `npm start` runs (PERFORMANCE.md P8).
 *
 * - `--max-semi-space-size=4` (MiB): V8's young generation grows to tens of
 *   MiB under load by default; requests here allocate little that lives,
 *   and a small nursery keeps the heap's resident size down at no
 *   measurable cost in throughput.
 * - `MALLOC_MMAP_THRESHOLD_`: each argon2 hash allocates its 19 MiB in a
 *   thread-pool thread. glibc raises its mmap threshold after such a block
 *   is freed, so later blocks are carved from per-thread heaps that are
 *   never given back; a fixed 1 MiB threshold keeps them mmapped and
 *   returned to the system when the hash ends. An explicit value in the
 *   environment wins.
 */
export const SERVER_NODE_ARGS = ['--max-semi-space-size=4', '--import=@poppinss/ts-exec']

export function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_MMAP_THRESHOLD_: '1048576', ...env }
}
