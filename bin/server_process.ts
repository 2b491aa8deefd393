/**
 * How `npm start` (bin/start.ts) and `npm run bench` start bin/server.ts:
 * the same Node flags and memory settings, so the benchmark measures what
 * `npm start` runs (PERFORMANCE.md P8).
 *
 * - `--max-semi-space-size=4` (MiB): V8's young generation grows to tens of
 *   MiB under load by default; requests here allocate little that lives,
 *   and a small nursery keeps the heap's resident size down at no
 *   measurable cost in throughput.
 * - `MALLOC_ARENA_MAX=1`: each argon2 hash allocates its 19 MiB in a
 *   thread-pool thread, and glibc gives every such thread an arena of its
 *   own that keeps the freed blocks; one arena keeps one block per hash
 *   running instead. (A fixed `MALLOC_MMAP_THRESHOLD_` returns the block
 *   after every hash instead, but page-faulting 19 MiB back in cost each
 *   sign-in a third more CPU: P5 0.65 against 1.0.) An explicit value in
 *   the environment wins.
 */
export const SERVER_NODE_ARGS = ['--max-semi-space-size=4', '--import=@poppinss/ts-exec']

export function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '1', ...env }
}
