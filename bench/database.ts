import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import argon2 from 'argon2'
import pg from 'pg'
import { AccessToken } from '@adonisjs/auth/access_tokens'
import { Secret } from '@adonisjs/core/helpers'
import {
  configuredDatabaseUrl,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '#database/embedded_postgres'

/**
 * Where the benchmark's databases live: a fresh embedded PostgreSQL under
 * tmp/bench-postgres, or the server in DATABASE_URL, next to whose
 * database two scratch databases are created (and dropped afterwards).
 */
export type Cluster = {
  description: string
  version: string
  /** The postmaster's pid when the server runs on this machine. */
  postmaster: number | null
  urlOf(database: string): string
  create(database: string): Promise<void>
  stop(): Promise<void>
}

export async function openCluster(appRoot: string): Promise<Cluster> {
  const configured = await configuredDatabaseUrl(appRoot)
  let embedded: EmbeddedDatabase | undefined
  if (!configured) {
    embedded = await startEmbeddedPostgres({
      directory: join(appRoot, 'tmp/bench-postgres'),
      database: 'postgres',
      fresh: true,
    })
  }
  const base = new URL(configured ?? embedded!.url)
  const created: string[] = []

  const urlOf = (database: string) => {
    const url = new URL(base)
    url.pathname = `/${database}`
    return url.toString()
  }
  async function admin<T>(work: (client: pg.Client) => Promise<T>) {
    const client = new pg.Client({ connectionString: base.toString() })
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end()
    }
  }

  const isLocal = ['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)
  const { version, postmaster } = await admin(async (client) => {
    const { rows } = await client.query(
      'select current_setting($1) as version, pg_backend_pid() as backend',
      ['server_version']
    )
    /**
     * A backend's parent is the postmaster (when this machine runs it).
     */
    const stat = `/proc/${rows[0].backend}/stat`
    const parent =
      isLocal && existsSync(stat)
        ? Number(
            readFileSync(stat, 'utf8')
              .replace(/^.*\) /s, '')
              .split(' ')[1]
          )
        : null
    return { version: String(rows[0].version), postmaster: parent }
  })
  return {
    version,
    postmaster,
    description: embedded
      ? `embedded-postgres in ${embedded.directory} (fresh, default durability)`
      : 'the server in DATABASE_URL (scratch databases)',
    urlOf,
    async create(database) {
      await admin(async (client) => {
        await client.query(`drop database if exists "${database}"`)
        await client.query(`create database "${database}"`)
      })
      created.push(database)
    },
    async stop() {
      if (embedded) return embedded.stop()
      await admin(async (client) => {
        for (const database of created) {
          await client.query(`drop database if exists "${database}" with (force)`)
        }
      })
    },
  }
}

/**
 * Runs the app's migrations in a child process, as bin/start.ts does.
 */
export function migrate(appRoot: string, env: NodeJS.ProcessEnv) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['ace.js', 'migration:run', '--force', '--no-schema-generate', '--compact-output'],
      { cwd: appRoot, env, stdio: ['ignore', 'pipe', 'pipe'] }
    )
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`migration:run exited with ${code}\n${output}`))
    )
  })
}

export type Hashing = { memoryKib: number; iterations: number; parallelism: number }

export type Seeded = {
  rows: number
  users: number
  /** Real access tokens (plain values) and the user each belongs to. */
  tokens: Array<{ value: string; userId: number }>
  /** Verified users that own none of the pooled tokens: sign-ins go here. */
  signinEmails: string[]
  /** A real, unexpired email-verification token, presented as a Bearer token. */
  wrongType: string
  /** A pooled token whose CRC32 no longer matches its secret. */
  badChecksum: string
  malformed: string
}

export const BENCH_PASSWORD = 'bench: correct horse battery staple'

/**
 * One argon2id hash of BENCH_PASSWORD with the server's parameters, shared
 * by every seeded user (sign-ins verify against it: same cost as a real
 * account).
 */
export function passwordHash(hashing: Hashing) {
  return argon2.hash(BENCH_PASSWORD, {
    type: argon2.argon2id,
    memoryCost: hashing.memoryKib,
    timeCost: hashing.iterations,
    parallelism: hashing.parallelism,
    hashLength: 32,
  })
}

/**
 * Fills a freshly migrated database with `rows` tokens and rows/5 users
 * (the default session cap), set-based (INSERT … SELECT generate_series).
 *
 * `pool` of the tokens are real: made like TokenModule.create makes them
 * (AccessToken.seed, SHA-256 of the secret), their plain values kept for
 * the load generator, and spread evenly over the id range and the users so
 * lookups touch the whole index, not its first pages. The rest have
 * random hashes. One more row is a real email-verification token.
 */
export async function seed(url: string, rows: number, pool: number, hash: string) {
  const users = Math.floor(rows / 5)
  const tokenStep = Math.floor(rows / pool)
  const userStep = Math.floor(users / pool)
  if (tokenStep < 2 || userStep < 2) throw new Error(`${rows} rows are too few for ${pool} tokens`)
  const ownerOf = (k: number) => k * userStep - Math.floor(userStep / 2)
  const tokenIdOf = (k: number) => k * tokenStep - Math.floor(tokenStep / 2)

  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(
      `insert into users (id, email, name, password, roles, email_verified_at, created_at, updated_at)
       select g, 'user' || g || '@bench.test', 'Bench user ' || g, $1, '{user}', now(), now(), now()
         from generate_series(1, $2::int) g`,
      [hash, users]
    )

    const real = Array.from({ length: pool }, (_, index) => ({
      id: tokenIdOf(index + 1),
      userId: ownerOf(index + 1),
      ...AccessToken.seed(40),
    }))
    await client.query(
      `insert into tokens (id, tokenable_id, type, name, hash, abilities, created_at, updated_at, expires_at)
       select id, user_id, 'access', 'bench', hash, '["*"]', now(), now(), now() + interval '30 days'
         from unnest($1::bigint[], $2::bigint[], $3::text[]) as t(id, user_id, hash)`,
      [real.map((t) => t.id), real.map((t) => t.userId), real.map((t) => t.hash)]
    )
    await client.query(
      `insert into tokens (id, tokenable_id, type, name, hash, abilities, created_at, updated_at, expires_at)
       select g, 1 + (g % $1::int), 'access', null, md5(random()::text) || md5(random()::text),
              '["*"]', now(), now(), now() + interval '30 days'
         from generate_series(1, $2::int - 1) g
        where g % $3::int <> $4::int`,
      [users, rows, tokenStep, tokenStep - Math.floor(tokenStep / 2)]
    )
    const evt = AccessToken.seed(40)
    await client.query(
      `insert into tokens (id, tokenable_id, type, name, hash, abilities, created_at, updated_at, expires_at)
       values ($1, 2, 'email_verification', null, $2, '["*"]', now(), now(), now() + interval '1 day')`,
      [rows, evt.hash]
    )
    await client.query(`select setval(pg_get_serial_sequence('tokens', 'id'), $1)`, [rows])
    await client.query(`select setval(pg_get_serial_sequence('users', 'id'), $1)`, [users])
    const { rows: counted } = await client.query('select count(*)::int as count from tokens')
    if (counted[0].count !== rows) throw new Error(`seeded ${counted[0].count} tokens, not ${rows}`)
    await client.query('vacuum analyze users')
    await client.query('vacuum analyze tokens')
    await client.query('checkpoint').catch(() => {})

    const valueOf = (token: (typeof real)[number], prefix = 'oat_', id = token.id) =>
      new AccessToken({
        identifier: id,
        tokenableId: token.userId,
        type: 'access',
        prefix,
        secret: token.secret,
        hash: token.hash,
        abilities: ['*'],
        name: null,
        createdAt: new Date(),
        updatedAt: new Date(),
        lastUsedAt: null,
        expiresAt: null,
      }).value!.release()

    const secret = real[0].secret.release()
    const forged = `${secret.slice(0, 40)}${(Number(secret.slice(40)) + 1) % 2 ** 32}`
    return {
      rows,
      users,
      tokens: real.map((token) => ({ value: valueOf(token), userId: token.userId })),
      signinEmails: real.map((token) => `user${token.userId + 1}@bench.test`),
      wrongType: valueOf({ ...real[0], ...evt, userId: 2 }, 'evt_', rows),
      badChecksum: valueOf({ ...real[0], secret: new Secret(forged) }),
      malformed: `oat_${'x'.repeat(60)}`,
    } satisfies Seeded
  } finally {
    await client.end()
  }
}
