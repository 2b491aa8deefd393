/**
 * How `npm start` (bin/start.ts) and `npm run bench` run the HTTP server:
 * the same build, Node flags and memory settings, so the benchmark
 * measures what `npm start` runs (PERFORMANCE.md P8).
 *
 * The server runs as compiled JavaScript (`node ace build`, in build/),
 * not through the TypeScript loader: the loader keeps a second V8 isolate
 * (its hooks thread) and the native swc compiler in every server for its
 * whole life, 55–65 MB of the RSS measured after the benchmark. The tests
 * and the ace commands still run the TypeScript sources directly.
 *
 * - `--max-semi-space-size=8` (MiB): V8's young generation grows to tens of
 *   MiB under load by default; requests here allocate little that lives,
 *   and a smaller nursery keeps the heap's resident size down. 4 MiB
 *   saved a few MB more but scavenged so often that garbage collection took
 *   13% of the server's CPU under a flood of bad tokens; at 8 MiB, /me cost
 *   236 µs of server CPU per request against 267 µs at 4 MiB, for 245 MB of
 *   RSS after the same runs against 239 MB (16 MiB: 248 µs, 296 MB).
 * - `MALLOC_ARENA_MAX=1`: each argon2 hash allocates its 19 MiB in a
 *   thread-pool thread, and glibc gives every such thread an arena of its
 *   own that keeps the freed blocks; one arena keeps one block per hash
 *   running instead. (A fixed `MALLOC_MMAP_THRESHOLD_` returns the block
 *   after every hash instead, but page-faulting 19 MiB back in cost each
 *   sign-in a third more CPU: P5 0.65 against 1.0.) An explicit value in
 *   the environment wins.
 */
import { spawn } from 'node:child_process'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { join, relative, resolve } from 'node:path'

export const SERVER_NODE_ARGS = ['--max-semi-space-size=8']

/**
 * The compiled entry point. Run it with the project root as the working
 * directory: the app's own root is build/, but `.env` (see `serverEnv`) and
 * relative paths such as MAIL_DIR stay the project's.
 */
export const SERVER_SCRIPT = 'build/bin/server.js'

/**
 * The environment of a server started from `appRoot`: `ENV_PATH` made
 * absolute, because the compiled app looks for `.env` relative to build/.
 */
export function serverEnv(appRoot: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '1', ...env, ENV_PATH: resolve(appRoot, env.ENV_PATH ?? '') }
}

/**
 * What the server is compiled from: a change to any of these makes the
 * build stale. (tests/ and bench/ are compiled too, but the server never
 * imports them.)
 */
const SOURCES = ['app', 'bin', 'config', 'database', 'providers', 'start', 'commands']
const SOURCE_FILES = ['adonisrc.ts', 'package.json', 'tsconfig.json']
const STAMP = 'build/.tessera-build'

function newestChange(path: string): number {
  if (!existsSync(path)) return 0
  const stats = statSync(path)
  if (!stats.isDirectory()) return stats.mtimeMs
  let newest = stats.mtimeMs
  for (const entry of readdirSync(path)) {
    newest = Math.max(newest, newestChange(join(path, entry)))
  }
  return newest
}

/**
 * True when build/ is missing or older than a source file.
 */
export function buildIsStale(appRoot: string) {
  const stamp = join(appRoot, STAMP)
  if (!existsSync(stamp) || !existsSync(join(appRoot, SERVER_SCRIPT))) return true
  const built = statSync(stamp).mtimeMs
  return [...SOURCES, ...SOURCE_FILES].some((entry) => newestChange(join(appRoot, entry)) > built)
}

/**
 * Where builds go: each into a folder of its own, `build` being a symlink
 * to the newest. A server runs from the real path of its build, so a later
 * build never replaces a file under a running server (it would answer 500
 * on every route whose code is loaded lazily); old builds are removed once
 * no server runs from them.
 */
export const BUILDS = 'tmp/builds'

/**
 * The real path of the entry point of the current build: what a server
 * should run, so that it keeps its build when `build` moves on.
 */
export function currentServerScript(appRoot: string) {
  return realpathSync(join(appRoot, SERVER_SCRIPT))
}

/**
 * Records that process `pid` runs from the build holding `script`, until
 * `release` is called (or the process is gone).
 */
export function claimBuild(script: string, pid: number) {
  const folder = join(resolve(script, '..', '..'), '.servers')
  mkdirSync(folder, { recursive: true })
  const file = join(folder, String(pid))
  writeFileSync(file, '')
  return { release: () => rmSync(file, { force: true }) }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Removes builds that are neither current nor run by a live server. The
 * newest two are kept anyway (a server started by other means, such as the
 * benchmark, may still be reading one).
 */
function removeOldBuilds(appRoot: string) {
  const folder = join(appRoot, BUILDS)
  if (!existsSync(folder)) return
  const current = existsSync(join(appRoot, 'build')) ? realpathSync(join(appRoot, 'build')) : ''
  const builds = readdirSync(folder)
    .filter((entry) => /^\d+-\d+$/.test(entry))
    .sort()
    .reverse()
  for (const entry of builds.slice(2)) {
    const build = join(folder, entry)
    if (build === current) continue
    const servers = join(build, '.servers')
    const live = existsSync(servers) && readdirSync(servers).some((pid) => isAlive(Number(pid)))
    if (!live) rmSync(build, { recursive: true, force: true })
  }
}

/**
 * Points `build` at `target` in one step (a new symlink renamed over the
 * old one). A `build` folder left by an older version of this script is
 * moved aside first.
 */
function switchBuild(appRoot: string, target: string) {
  const link = join(appRoot, 'build')
  if (existsSync(link) && !lstatSync(link).isSymbolicLink()) {
    renameSync(link, join(appRoot, BUILDS, `0-${process.pid}`))
  }
  const staging = join(appRoot, `build.${process.pid}.tmp`)
  rmSync(staging, { force: true })
  symlinkSync(relative(appRoot, target), staging)
  renameSync(staging, link)
}

/**
 * Compiles the app with `node ace build` when the build is stale (a few
 * seconds), into a fresh folder under tmp/builds that `build` then points
 * at, and leaves it alone otherwise. A type error fails the build, and the
 * caller stops: never a server from stale code.
 */
export async function ensureBuild(appRoot: string, say: (message: string) => void) {
  if (!buildIsStale(appRoot)) return
  say('compiling the server (node ace build, into build/)')
  const startedAt = Date.now()
  const id = `${startedAt}-${process.pid}`
  const target = join(appRoot, BUILDS, id)
  const tsconfig = join(appRoot, BUILDS, `${id}.tsconfig.json`)
  mkdirSync(join(appRoot, BUILDS), { recursive: true })
  /**
   * `node ace build` writes to the tsconfig's outDir (and empties it
   * first): a tsconfig of its own per build gives each a new folder.
   */
  const up = relative(join(appRoot, BUILDS), appRoot) || '.'
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: `${up}/tsconfig.json`,
      compilerOptions: { rootDir: up, outDir: `./${id}` },
      include: [`${up}/**/*`, `${up}/.adonisjs/server/**/*`],
      exclude: [`${up}/node_modules/**`, `${up}/build/**`, `${up}/tmp/**`],
    })
  )
  let output: string
  try {
    output = await new Promise<string>((done, fail) => {
      const child = spawn(
        process.execPath,
        ['ace.js', 'build', `--tsconfig=${relative(appRoot, tsconfig)}`],
        {
          cwd: appRoot,
          env: { ...process.env, FORCE_COLOR: '0' },
          stdio: ['ignore', 'pipe', 'pipe'],
        }
      )
      let text = ''
      child.stdout.on('data', (chunk) => (text += chunk))
      child.stderr.on('data', (chunk) => (text += chunk))
      child.on('error', fail)
      child.on('exit', (code) =>
        code === 0 ? done(text) : fail(new Error(`node ace build exited with ${code}\n${text}`))
      )
    })
  } catch (error) {
    rmSync(target, { recursive: true, force: true })
    throw error
  } finally {
    rmSync(tsconfig, { force: true })
  }
  if (!existsSync(join(target, 'bin/server.js'))) {
    throw new Error(`node ace build did not write ${SERVER_SCRIPT}\n${output}`)
  }
  // dated when the build began, so a file saved during the build makes it stale
  const stamp = join(target, '.tessera-build')
  writeFileSync(stamp, `${new Date(startedAt).toISOString()}\n`)
  utimesSync(stamp, startedAt / 1000, startedAt / 1000)
  switchBuild(appRoot, target)
  removeOldBuilds(appRoot)
  say(`compiled in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`)
}
