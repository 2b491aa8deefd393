import settings from '#config/setting'
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
