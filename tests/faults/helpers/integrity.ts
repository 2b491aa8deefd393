import argon2 from 'argon2'
import type FaultCluster from '#tests/faults/helpers/cluster'
import type { LoadUser } from '#tests/faults/helpers/load'
import { sleep } from '#tests/faults/helpers/processes'

export type CheckResult = { failures: string[]; notes: string[]; checked: string }

const verified = new Map<string, boolean>()

/**
 * argon2 verification, remembered per (hash, password): most users' hashes
 * do not change between two checks.
 */
async function matches(hash: string, password: string) {
  const key = `${hash}\u0000${password}`
  if (!verified.has(key)) verified.set(key, await argon2.verify(hash, password))
  return verified.get(key)!
}

/**
 * Compares the database with what the load was told, user by user, and
 * checks the invariants that no fault may break:
 *
 * - a sign-in answered 200 has its token row, unless a later reset revoked it;
 * - a reset answered 200 changed the password, revoked every session issued
 *   before it and used up its link;
 * - a reset that answered an error changed nothing: same password, link
 *   still usable, sessions intact. If it was applied anyway (its
 *   acknowledgement lost with the connection), it must have been applied
 *   whole — and that is only tolerated where `lostAcknowledgementPossible`;
 * - a mailed link is gone only when used, or superseded by a newer one a
 *   rerun of its job issued — tolerated only where a process died holding
 *   the job (`supersedingExpected`);
 * - across the tables: no access token older than its user's last password
 *   change, at most one live reset and one verification token per user.
 */
export async function checkIntegrity(
  cluster: FaultCluster,
  users: LoadUser[],
  options: { lostAcknowledgementPossible: boolean; supersedingExpected: boolean }
): Promise<CheckResult> {
  const failures: string[] = []
  const notes: string[] = []
  const counted = { users: 0, sessions: 0, revoked: 0, pending: 0 }
  const rows = await cluster.query<{ id: number; password: string }>(
    'select id::int, password from users where id = any($1::bigint[])',
    [users.map((user) => user.id)]
  )
  const retired = users.filter((user) => user.retired).map((user) => user.id)
  const tokens = await cluster.query<{ id: string; tokenable_id: number; type: string }>(
    'select id::text, tokenable_id::int, type from tokens where tokenable_id = any($1::bigint[])',
    [users.map((user) => user.id)]
  )
  const hashes = new Map(rows.map((row) => [row.id, row.password]))
  const present = (user: LoadUser, type: string) =>
    new Set(
      tokens
        .filter((token) => token.tokenable_id === user.id && token.type === type)
        .map((token) => token.id)
    )

  for (const user of users) {
    if (user.retired) continue
    const hash = hashes.get(user.id)
    const who = `${user.email} (user ${user.id})`
    if (!hash) {
      failures.push(`${who}: row is gone`)
      continue
    }
    const access = present(user, 'access')
    const resets = present(user, 'password_reset')
    counted.users++

    if (!(await matches(hash, user.password))) {
      const applied = await findApplied(hash, user)
      if (!applied) {
        const known = await findKnown(hash, user)
        failures.push(
          `${who}: the stored password is not the confirmed one (${user.passwords.find((entry) => entry.password === user.password)?.what}) nor one of ${user.link?.attempts.length ?? 0} pending failed attempts; it is ${known ?? 'none the suite ever sent'}. Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
        )
        user.retired = 'password out of step'
        continue
      }
      const link = user.link!
      const survivors = user.sessions.filter((session) => access.has(session.id))
      if (resets.has(link.id) || survivors.length > 0) {
        failures.push(
          `${who}: HALF-WRITTEN reset — password changed by an attempt that answered ${applied.status || applied.detail}, but ${resets.has(link.id) ? 'its reset token is still there' : ''}${survivors.length > 0 ? ` ${survivors.length} older sessions survived` : ''}`
        )
      } else if (options.lostAcknowledgementPossible) {
        notes.push(
          `${who}: a reset that answered ${applied.status || applied.detail} had been applied (whole): its acknowledgement was lost with the connection`
        )
      } else {
        failures.push(
          `${who}: a reset that answered ${applied.status || applied.detail} (${applied.detail}) was applied anyway (whole, but the client was told it failed)`
        )
      }
      user.password = applied.password
      user.revoked.push(...user.sessions)
      user.sessions = []
      user.consumedLinks.push(link.id)
      user.link = undefined
      user.suspect = undefined
    } else {
      /**
       * A reset-link job may run again (F6: its process killed after its
       * mail left, or after it issued the link): the rerun stores a newer
       * token, which supersedes the link in hand, and mails it.
       */
      const newer = (id: string) => [...resets].find((other) => BigInt(other) > BigInt(id))
      const supersededBy = user.link && !resets.has(user.link.id) && newer(user.link.id)
      if (user.link && supersededBy && !options.supersedingExpected) {
        failures.push(
          `${who}: reset link ${user.link.id} was superseded by ${supersededBy} though no process died: its job ran again after its mail left. Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
        )
        user.link = undefined
      } else if (user.link && supersededBy) {
        notes.push(
          `${who}: reset link ${user.link.id} was superseded by ${supersededBy}, issued by a rerun of its job (F6); its mail is to come`
        )
        if (user.suspect?.startsWith('reset with a link in hand')) user.suspect = undefined
        user.link = undefined
      }
      if (user.supersededLink) {
        const issued = newer(user.supersededLink)
        if (issued) {
          notes.push(
            `${who}: reset link ${user.supersededLink} was refused, superseded by ${issued}; its mail is to come`
          )
        } else {
          failures.push(
            `${who}: reset link ${user.supersededLink} was refused (400) with no attempt failed before, yet no newer link was stored. Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
          )
          user.supersededLink = undefined
          user.awaitingMailSince = undefined
        }
      }
      if (user.link && user.link.attempts.length === 0 && !resets.has(user.link.id)) {
        failures.push(
          `${who}: forgot answered 202 and mailed reset link ${user.link.id}, but that token was never stored. Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
        )
        user.link = undefined
      }
      if (user.link && user.link.attempts.length > 0 && !resets.has(user.link.id)) {
        failures.push(
          `${who}: HALF-WRITTEN reset? the reset token ${user.link.id} is gone, yet its ${user.link.attempts.length} attempts all failed and the password is unchanged. Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
        )
        user.link = undefined
      }
      if (user.suspect) {
        failures.push(`${who}: the database says nothing changed, yet ${user.suspect}`)
        user.suspect = undefined
      }
    }

    user.paused = undefined
    const lost = user.sessions.filter((session) => !access.has(session.id))
    if (lost.length > 0) {
      failures.push(
        `${who}: ${lost.length} sign-ins answered 200 but their token rows are gone (ids ${lost.map((session) => session.id).join(',')}). Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
      )
      user.sessions = user.sessions.filter((session) => access.has(session.id))
    }
    const survived = user.revoked.filter((session) => access.has(session.id))
    if (survived.length > 0) {
      failures.push(
        `${who}: ${survived.length} sessions outlived a reset that answered 200 (ids ${survived.map((session) => session.id).join(',')})`
      )
    }
    counted.sessions += user.sessions.length
    counted.revoked += user.revoked.length
    if (user.link?.attempts.length) counted.pending++
    const reused = user.consumedLinks.filter((id) => resets.has(id))
    if (reused.length > 0) {
      failures.push(`${who}: reset tokens ${reused.join(',')} outlived the reset that used them`)
    }
    if (user.link && user.link.attempts.length > 0) {
      notes.push(`${who}: reset link kept after ${user.link.attempts.length} failed attempts`)
    }
  }

  const stale = await cluster.query<{ id: string; tokenable_id: number }>(
    `select t.id::text, t.tokenable_id::int from tokens t join users u on u.id = t.tokenable_id
      where t.type = 'access' and t.created_at < u.updated_at and not (u.id = any($1::bigint[]))`,
    [retired]
  )
  if (stale.length > 0) {
    failures.push(
      `access tokens older than their user's last password change: ${stale.map((row) => `${row.id} (user ${row.tokenable_id})`).join(', ')}`
    )
  }
  const doubled = await cluster.query<{ tokenable_id: number; type: string; count: number }>(
    `select tokenable_id::int, type, count(*)::int as count from tokens
      where type <> 'access' and not (tokenable_id = any($1::bigint[]))
      group by 1, 2 having count(*) > 1`,
    [retired]
  )
  if (doubled.length > 0) {
    failures.push(
      `more than one live single-use token: ${doubled.map((row) => `user ${row.tokenable_id} ${row.type} ×${row.count}`).join(', ')}`
    )
  }
  const checked = `${counted.users} users' passwords, ${counted.sessions} live and ${counted.revoked} revoked sessions, ${counted.pending} links kept after failed resets`
  return { failures, notes, checked }
}

async function findKnown(hash: string, user: LoadUser) {
  for (const entry of user.passwords) {
    if (await matches(hash, entry.password)) return entry.what
  }
  return undefined
}

async function findApplied(hash: string, user: LoadUser) {
  for (const attempt of user.link?.attempts ?? []) {
    if (await matches(hash, attempt.password)) return attempt
  }
  return undefined
}

/**
 * After recovery the service holds at most `poolMax` connections, and none
 * sits idle inside a transaction once every request has been answered.
 */
export async function checkConnections(cluster: FaultCluster, poolMax: number) {
  const failures: string[] = []
  const samples: string[] = []
  await sleep(300)
  for (let sample = 0; sample < 5; sample++) {
    const rows = await cluster.query<{ state: string | null; count: number }>(
      `select state, count(*)::int as count from pg_stat_activity
        where application_name = 'tessera' group by state`
    )
    const total = rows.reduce((sum, row) => sum + row.count, 0)
    const inTransaction = rows
      .filter((row) => row.state?.startsWith('idle in transaction'))
      .reduce((sum, row) => sum + row.count, 0)
    const seen = rows.map((row) => `${row.state}: ${row.count}`).join(', ') || 'none'
    samples.push(seen)
    if (total > poolMax)
      failures.push(`${total} service connections > DB_POOL_MAX ${poolMax} (${seen})`)
    if (inTransaction > 0)
      failures.push(
        `${inTransaction} service connections idle in transaction after the load (${seen})`
      )
    if (failures.length > 0) break
    await sleep(200)
  }
  return { failures, samples }
}
