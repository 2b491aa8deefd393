import { createHash } from 'node:crypto'
import { isIPv6 } from 'node:net'
import { errors as limiterErrors } from '@adonisjs/limiter'
import limiter from '@adonisjs/limiter/services/main'
import db from '@adonisjs/lucid/services/db'
import settings from '#config/setting'
import { RATE_LIMITS_TABLE } from '#config/limiter'
import ServiceUnavailableException from '#exceptions/service_unavailable_exception'

type Rule = { requests: number; window: number; block: number }

/**
 * Every rate-limit key and rule of the service, in one place.
 *
 * Keys are hashed (no emails or addresses at rest in the store). IPv6
 * clients are bucketed by their /64, since one host usually owns a whole
 * /64 and could otherwise rotate addresses to escape the limit;
 * IPv4-mapped IPv6 addresses count as their IPv4 form.
 *
 * Counting is always "consume first": the attempt is counted atomically in
 * the store before any work is done, so N concurrent attempts can never
 * all pass a check made before any of them was counted (the flaw of
 * check-then-increment, e.g. the limiter's `penalize()`).
 */
export function clientBucket(ip: string) {
  if (!isIPv6(ip)) return ip
  const groups = expandIPv6(ip)
  if (groups.slice(0, 5).every((group) => group === '0000') && groups[5] === 'ffff') {
    const [high, low] = [Number.parseInt(groups[6], 16), Number.parseInt(groups[7], 16)]
    return [high >> 8, high & 255, low >> 8, low & 255].join('.')
  }
  return `${groups.slice(0, 4).join(':')}::/64`
}

/**
 * The eight 16-bit groups of an IPv6 address, zero-padded. The WHATWG URL
 * parser does the normalising (zone ids dropped first): "::" expansion,
 * case, and embedded dotted IPv4 tails.
 */
function expandIPv6(ip: string) {
  const normalised = new URL(`http://[${ip.split('%')[0]}]`).hostname.slice(1, -1)
  const [head, tail = ''] = normalised.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const missing = normalised.includes('::') ? 8 - left.length - right.length : 0
  return [...left, ...Array(missing).fill('0'), ...right].map((group) => group.padStart(4, '0'))
}

function digest(...parts: string[]) {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 32)
}

/**
 * Fail closed: when the limiter store (PostgreSQL or Redis) cannot count,
 * the request is refused with 503 instead of running unlimited
 * (SECURITY.md F3). A 429 passes through as is.
 */
async function counted(work: Promise<unknown> | Promise<unknown>[]) {
  /**
   * Every count settles before the request goes on (or is refused), so no
   * store write is left running after the response.
   */
  const results = await Promise.allSettled(Array.isArray(work) ? work : [work])
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason] : []
  )
  const unavailable = failures.find(
    (error) => !(error instanceof limiterErrors.E_TOO_MANY_REQUESTS)
  )
  if (unavailable) throw new ServiceUnavailableException(undefined, 5, { cause: unavailable })
  if (failures.length > 0) throw failures[0]
}

function use(rule: Rule) {
  return limiter.use({ requests: rule.requests, duration: rule.window, blockDuration: rule.block })
}

/**
 * Every bucket, as the rule that counts it and its key in the store. Counting
 * and clearing both go through here, so `limits:clear` deletes exactly the
 * keys the counters use.
 */
const buckets = {
  signinIp: (ip: string) => ({
    rule: settings.rateLimits.signin.perIp,
    key: `signin:ip:${digest(clientBucket(ip))}`,
  }),
  signinEmail: (email: string) => ({
    rule: settings.rateLimits.signin.perEmail,
    key: `signin:email:${digest(email)}`,
  }),
  signinIpEmail: (ip: string, email: string) => ({
    rule: settings.rateLimits.signin.perIpEmail,
    key: `signin:ip_email:${digest(clientBucket(ip), email)}`,
  }),
  mailIp: (ip: string) => ({
    rule: settings.rateLimits.mail.perIp,
    key: `mail:ip:${digest(clientBucket(ip))}`,
  }),
  mailEmail: (email: string) => ({
    rule: settings.rateLimits.mail.perEmail,
    key: `mail:email:${digest(email)}`,
  }),
  tokenIp: (ip: string) => ({
    rule: settings.rateLimits.tokens.perIp,
    key: `token:ip:${digest(clientBucket(ip))}`,
  }),
}

type Bucket = { rule: Rule; key: string }

const consume = ({ rule, key }: Bucket) => use(rule).consume(key)
const remove = ({ rule, key }: Bucket) => use(rule).delete(key)

/**
 * Counts a sign-in attempt against the client's address, the email, and
 * the pair. Throws 429 (with Retry-After) when any of them is used up, in
 * which case no password is checked.
 */
export async function countSigninAttempt(ip: string, email: string) {
  await counted([
    consume(buckets.signinIp(ip)),
    consume(buckets.signinEmail(email)),
    consume(buckets.signinIpEmail(ip, email)),
  ])
}

/**
 * After a correct password: forget this email's failures and give the
 * address back the one attempt this sign-in used. Other accounts' counters
 * and the address's earlier failures stay, so a success on one account
 * cannot reset the count for guesses at another (SECURITY.md R2).
 */
export async function forgiveSigninAttempt(ip: string, email: string) {
  const perIp = buckets.signinIp(ip)
  await counted([
    use(perIp.rule).decrement(perIp.key),
    remove(buckets.signinEmail(email)),
    remove(buckets.signinIpEmail(ip, email)),
  ])
}

/**
 * Counts a request that may send mail (signup, resend, forgot) against the
 * client's address and the target email.
 */
export async function countMailRequest(ip: string, email: string) {
  await counted([consume(buckets.mailIp(ip)), consume(buckets.mailEmail(email))])
}

/**
 * Counts an attempt to use a token from a link (verify, reset) against the
 * client's address.
 */
export async function countTokenAttempt(ip: string) {
  await counted(consume(buckets.tokenIp(ip)))
}

/**
 * Password changes from a signed-in session count against the account's
 * sign-in bucket: a stolen token must not become a password oracle.
 */
export async function countPasswordCheck(email: string) {
  await counted(consume(buckets.signinEmail(email)))
}

/**
 * Deletes the counters (and any block) of the given canonical emails and
 * client addresses in the configured store: every bucket keyed by one of
 * them, and the sign-in bucket of each address + email pair given. An IPv6
 * address clears its whole /64, as counting does. Keys are hashed, so a
 * pair bucket can only be found when both halves are given.
 *
 * Store errors are thrown as they are (the caller is an operator).
 */
export async function clearLimits(targets: { emails: string[]; ips: string[] }) {
  const cleared: Bucket[] = []
  for (const email of targets.emails) {
    cleared.push(buckets.signinEmail(email), buckets.mailEmail(email))
  }
  for (const ip of targets.ips) {
    cleared.push(buckets.signinIp(ip), buckets.mailIp(ip), buckets.tokenIp(ip))
    for (const email of targets.emails) cleared.push(buckets.signinIpEmail(ip, email))
  }
  await Promise.all(cleared.map(remove))
}

/**
 * Deletes expired counters from the database store, `batchSize` rows per
 * statement, and returns how many went. The store never deletes a row on
 * its own (an expired row is only reset when its key is counted again), so
 * without this the table keeps one row per address and email ever seen.
 * A row counted again while this runs is kept: the expiry is checked again
 * on the row being deleted. Redis and memory entries expire by themselves:
 * returns 0 for those stores.
 */
export async function pruneExpiredLimits(batchSize = 5000) {
  if (limiter.config.default !== 'database') return 0
  let total = 0
  while (true) {
    const now = Date.now()
    const { rowCount } = await db.rawQuery(
      `delete from ${RATE_LIMITS_TABLE} where expire <= ? and key in (
         select key from ${RATE_LIMITS_TABLE} where expire <= ? limit ?
       )`,
      [now, now, batchSize]
    )
    total += rowCount ?? 0
    if (!rowCount || rowCount < batchSize) return total
  }
}
