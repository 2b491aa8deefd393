import { createHash } from 'node:crypto'
import { isIPv6 } from 'node:net'
import { errors as limiterErrors } from '@adonisjs/limiter'
import limiter from '@adonisjs/limiter/services/main'
import settings from '#config/setting'
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
 * Counts a sign-in attempt against the client's address, the email, and
 * the pair. Throws 429 (with Retry-After) when any of them is used up, in
 * which case no password is checked.
 */
export async function countSigninAttempt(ip: string, email: string) {
  const bucket = clientBucket(ip)
  const signin = settings.rateLimits.signin
  await counted([
    use(signin.perIp).consume(`signin:ip:${digest(bucket)}`),
    use(signin.perEmail).consume(`signin:email:${digest(email)}`),
    use(signin.perIpEmail).consume(`signin:ip_email:${digest(bucket, email)}`),
  ])
}

/**
 * After a correct password: forget this email's failures and give the
 * address back the one attempt this sign-in used. Other accounts' counters
 * and the address's earlier failures stay, so a success on one account
 * cannot reset the count for guesses at another (SECURITY.md R2).
 */
export async function forgiveSigninAttempt(ip: string, email: string) {
  const bucket = clientBucket(ip)
  const signin = settings.rateLimits.signin
  await counted([
    use(signin.perIp).decrement(`signin:ip:${digest(bucket)}`),
    use(signin.perEmail).delete(`signin:email:${digest(email)}`),
    use(signin.perIpEmail).delete(`signin:ip_email:${digest(bucket, email)}`),
  ])
}

/**
 * Counts a request that may send mail (signup, resend, forgot) against the
 * client's address and the target email.
 */
export async function countMailRequest(ip: string, email: string) {
  const mail = settings.rateLimits.mail
  await counted([
    use(mail.perIp).consume(`mail:ip:${digest(clientBucket(ip))}`),
    use(mail.perEmail).consume(`mail:email:${digest(email)}`),
  ])
}

/**
 * Counts an attempt to use a token from a link (verify, reset) against the
 * client's address.
 */
export async function countTokenAttempt(ip: string) {
  await counted(
    use(settings.rateLimits.tokens.perIp).consume(`token:ip:${digest(clientBucket(ip))}`)
  )
}

/**
 * Password changes from a signed-in session count against the account's
 * sign-in bucket: a stolen token must not become a password oracle.
 */
export async function countPasswordCheck(email: string) {
  await counted(use(settings.rateLimits.signin.perEmail).consume(`signin:email:${digest(email)}`))
}
