import { readdirSync, readFileSync } from 'node:fs'

export function sleep(ms: number) {
  return new Promise<void>((resolve) => setTimeout(resolve, ms))
}

/**
 * State letter and parent of a process from /proc/<pid>/stat, or null when
 * it is gone. The command name may hold spaces and parentheses: the fields
 * that matter come after its last ")".
 */
function procStat(pid: number) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0], ppid: Number(fields[1]) }
  } catch {
    return null
  }
}

/**
 * True while the process exists and is not a zombie (a killed child that
 * nobody reaped yet holds no port, socket or shared memory).
 */
export function isRunning(pid: number) {
  const stat = procStat(pid)
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X'
}

/**
 * Live direct children of `pid` (a postmaster's backends and workers).
 */
export function childrenOf(pid: number) {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(Number(entry))
    if (stat && stat.ppid === pid && stat.state !== 'Z') children.push(Number(entry))
  }
  return children
}

export function signal(pids: number[], name: NodeJS.Signals) {
  for (const pid of pids) {
    try {
      process.kill(pid, name)
    } catch {}
  }
}

/**
 * Waits until none of `pids` runs; returns those still running at the deadline.
 */
export async function waitUntilGone(pids: number[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  let running = pids.filter(isRunning)
  while (running.length > 0 && Date.now() < deadline) {
    await sleep(50)
    running = running.filter(isRunning)
  }
  return running
}
