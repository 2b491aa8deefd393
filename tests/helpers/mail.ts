import type { ApiClient } from '@japa/api-client'
import settings from '#config/setting'
import { PASSWORD } from '#tests/helpers/accounts'
import { linkIn, mailbox } from '#tests/helpers/mailbox'
import { recordSecret } from '#tests/helpers/secret_recorder'

/**
 * The token carried by the newest verification link mailed to `email`.
 */
export async function verificationTokenFor(email: string) {
  const mail = await latest(email, /Confirm your email|already have an account/)
  return recorded(linkIn(mail, settings.links.verifyEmail))
}

/**
 * The token carried by the newest reset link mailed to `email`.
 */
export async function resetTokenFor(email: string) {
  const mail = await latest(email, /Reset your password/)
  return recorded(linkIn(mail, settings.links.resetPassword))
}

/**
 * The token of a mailed link (recorded, with the link, for the R5 test).
 */
function recorded(link: URL) {
  const token = link.searchParams.get('token')!
  recordSecret('mail.link', link.href)
  recordSecret('mail.token', token)
  return token
}

async function latest(email: string, subject: RegExp) {
  await mailbox.waitFor(email, subject)
  const matching = mailbox.to(email).filter((message) => subject.test(message.subject))
  return matching[matching.length - 1]
}

/**
 * Waits until `count` messages matching `subject` reached `email`.
 */
export async function waitForCount(
  email: string,
  subject: RegExp,
  count: number,
  timeoutMs = 5000
) {
  const deadline = Date.now() + timeoutMs
  while (mailbox.to(email).filter((message) => subject.test(message.subject)).length < count) {
    if (Date.now() > deadline) throw new Error(`Expected ${count} "${subject}" mails for ${email}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Signs up over HTTP (202) and returns the token of the verification link
 * mailed to `inbox` (the canonical form of `email`); the account stays
 * unverified.
 */
export async function signUpForToken(
  client: ApiClient,
  email: string,
  password = PASSWORD,
  inbox = email
) {
  const signup = await client.post('/api/v1/auth/signup').json({ email, password })
  signup.assertStatus(202)
  return verificationTokenFor(inbox)
}

/**
 * Signs up over HTTP and follows the verification link mailed to `inbox`
 * (the canonical form of `email`), which must answer 200.
 */
export async function signUpVerified(
  client: ApiClient,
  email: string,
  password = PASSWORD,
  inbox = email
) {
  const token = await signUpForToken(client, email, password, inbox)
  const verified = await client.post('/api/v1/auth/email/verify').json({ token })
  verified.assertStatus(200)
}

/**
 * Asks for a reset link over HTTP (202) and returns its token.
 */
export async function forgotForToken(client: ApiClient, email: string) {
  const response = await client.post('/api/v1/auth/password/forgot').json({ email })
  response.assertStatus(202)
  return resetTokenFor(email)
}

/**
 * Posts `{ email }` to the mail route `path` as often as the per-email mail
 * limit allows — each answered 202 — and waits until that many mails
 * matching `subject` reached `email`. Returns the limit.
 */
export async function useUpMailLimit(
  client: ApiClient,
  path: string,
  email: string,
  subject: RegExp
) {
  const limit = settings.rateLimits.mail.perEmail.requests
  for (let attempt = 0; attempt < limit; attempt++) {
    const allowed = await client.post(path).json({ email })
    allowed.assertStatus(202)
  }
  await waitForCount(email, subject, limit)
  return limit
}
