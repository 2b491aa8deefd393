import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import type { Assert } from '@japa/assert'
import db from '@adonisjs/lucid/services/db'
import settings from '#config/setting'
import User from '#models/user'
import { linkIn, mailbox } from '#tests/helpers/mailbox'
import {
  forgotForToken,
  signUpForToken,
  verificationTokenFor,
  waitForCount,
} from '#tests/helpers/mail'
import {
  createUser,
  resetRateLimits,
  signIn,
  tokenModule,
  tokenRows,
  uniqueEmail,
} from '#tests/helpers/accounts'
import { assertInvalidToken } from '#tests/helpers/assertions'

/**
 * SECURITY.md A7: whatever a party who never proved the mailbox set
 * (password, name, pending tokens) does not survive the owner's proof of
 * that mailbox, whichever mailed link the owner follows.
 *
 * The squatter and the owner are two HTTP clients of the same service; the
 * owner is whoever reads the mailbox.
 */

const API = '/api/v1'
const SQUATTER = 'squatter chosen passphrase 1'
const OWNER = 'owner chosen passphrase 2'
const LINK_MAIL = /Confirm your email|already have an account/
const CHOOSE_MAIL = /Choose a password/

/**
 * A sign-up over HTTP, which must answer 202 like every sign-up.
 */
async function signUp(client: ApiClient, email: string, password: string, name?: string) {
  const response = await client.post(`${API}/auth/signup`).json({ email, password, name })
  response.assertStatus(202)
}

/**
 * Follows the newest link mailed to `email`, which must answer 200.
 */
async function followNewestLink(client: ApiClient, email: string) {
  const response = await verify(client, await verificationTokenFor(email))
  response.assertStatus(200)
  return response
}

function verify(client: ApiClient, token: string) {
  return client.post(`${API}/auth/email/verify`).json({ token })
}

/**
 * Neither password signs in: 400 E_INVALID_CREDENTIALS for both, as for
 * any wrong password.
 */
async function assertNeitherSignsIn(client: ApiClient, email: string, passwords: string[]) {
  for (const password of passwords) {
    const response = await client.post(`${API}/auth/signin`).json({ email, password })
    response.assertStatus(400)
    response.assertBodyContains({ errors: [{ code: 'E_INVALID_CREDENTIALS' }] })
  }
}

/**
 * The owner follows the "choose a password" link mailed after the proof,
 * sets `password`, and from then on only that password signs in.
 */
async function ownerChoosesPassword(client: ApiClient, assert: Assert, email: string) {
  const mail = await mailbox.waitFor(email, CHOOSE_MAIL)
  const token = linkIn(mail, settings.links.resetPassword).searchParams.get('token')!
  const reset = await client.post(`${API}/auth/password/reset`).json({ token, password: OWNER })
  reset.assertStatus(200)
  await signIn(client, email, OWNER)
  await assertNeitherSignsIn(client, email, [SQUATTER])
  const user = await User.findByOrFail('email', email)
  assert.isNull(user.name)
}

test.group('Security | A7 pre-registration', (group) => {
  group.each.setup(() => resetRateLimits())

  test('A7: the sole sign-up link activates the password and name sent with it', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a7-sole')
    await signUp(client, email, OWNER, 'Olive')
    const verified = await followNewestLink(client, email)
    assert.equal(verified.body().data.user.name, 'Olive')
    await signIn(client, email, OWNER)
  })

  test('A7: an owner signing up after a squatter and following the notice chooses the password', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a7-after')
    await signUp(client, email, SQUATTER, 'Mallory')
    await waitForCount(email, LINK_MAIL, 1)
    await signUp(client, email, OWNER, 'Olive')
    await waitForCount(email, LINK_MAIL, 2)

    const verified = await followNewestLink(client, email)
    assert.isNull(verified.body().data.user.name)
    assert.isNotNull(verified.body().data.user.emailVerifiedAt)
    await assertNeitherSignsIn(client, email, [SQUATTER, OWNER])
    await ownerChoosesPassword(client, assert, email)
  })

  test("A7: the squatter's sign-up link dies when anyone else signs up for the address", async ({
    client,
  }) => {
    const email = uniqueEmail('a7-first-link')
    const squattersLink = await signUpForToken(client, email, SQUATTER)
    await signUp(client, email, OWNER)
    await waitForCount(email, LINK_MAIL, 2)

    assertInvalidToken(await verify(client, squattersLink))
    const early = await client.post(`${API}/auth/signin`).json({ email, password: SQUATTER })
    early.assertStatus(403)
  })

  test("A7: a squatter signing up after the owner cannot ride the owner's confirmation", async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a7-before')
    const ownersLink = await signUpForToken(client, email, OWNER)
    await signUp(client, email, SQUATTER, 'Mallory')
    await waitForCount(email, LINK_MAIL, 2)

    // The owner's first link was superseded by the squatter's attempt …
    assertInvalidToken(await verify(client, ownersLink))
    // … and the newest link (the notice) activates neither password.
    await followNewestLink(client, email)
    await assertNeitherSignsIn(client, email, [SQUATTER, OWNER])
    await ownerChoosesPassword(client, assert, email)
  })

  test('A7: a resend link confirms the address without activating the password on record', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a7-resend')
    await signUp(client, email, SQUATTER, 'Mallory')
    await waitForCount(email, LINK_MAIL, 1)
    const resend = await client.post(`${API}/auth/email/resend`).json({ email })
    resend.assertStatus(202)
    await waitForCount(email, LINK_MAIL, 2)

    await followNewestLink(client, email)
    await assertNeitherSignsIn(client, email, [SQUATTER])
    await ownerChoosesPassword(client, assert, email)
  })

  test("A7: racing sign-ups for a new address leave no link that activates either's password", async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a7-race')
    await Promise.all([
      signUp(client, email, SQUATTER),
      signUp(client, email, OWNER),
      signUp(client, email, SQUATTER),
    ])
    await waitForCount(email, LINK_MAIL, 3)
    const user = await User.findByOrFail('email', email)
    const pending = await tokenRows(user.id, 'email_verification')
    assert.lengthOf(pending, 1)

    // Mails may arrive in another order than their tokens were issued: follow each.
    const links = mailbox
      .to(email)
      .filter((mail) => LINK_MAIL.test(mail.subject))
      .map((mail) => linkIn(mail, settings.links.verifyEmail).searchParams.get('token')!)
    const statuses = []
    for (const token of links) {
      const answer = await verify(client, token)
      statuses.push(answer.status())
    }
    assert.deepEqual(
      statuses.toSorted(),
      [200, 400, 400],
      'exactly one mailed link (the pending one) works'
    )
    await assertNeitherSignsIn(client, email, [SQUATTER, OWNER])
  })

  test("A7: a password reset on a squatted account revokes the squatter's pending link", async ({
    client,
  }) => {
    const email = uniqueEmail('a7-reset')
    const squattersLink = await signUpForToken(client, email, SQUATTER)
    const resetToken = await forgotForToken(client, email)
    const reset = await client
      .post(`${API}/auth/password/reset`)
      .json({ token: resetToken, password: OWNER })
    reset.assertStatus(200)

    assertInvalidToken(await verify(client, squattersLink))
    await signIn(client, email, OWNER)
    await assertNeitherSignsIn(client, email, [SQUATTER])
  })

  test('A7: the proof of the mailbox revokes every token issued before it', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a7-tokens')
    await signUp(client, email, SQUATTER)
    await waitForCount(email, LINK_MAIL, 1)
    const squattersReset = await forgotForToken(client, email)
    await signUp(client, email, OWNER)
    await waitForCount(email, LINK_MAIL, 2)
    const user = await User.findByOrFail('email', email)
    // An access token planted before the proof (an unverified account cannot sign in).
    await db.table('tokens').insert({
      tokenable_id: user.id,
      type: 'access',
      hash: 'a'.repeat(64),
      created_at: new Date(),
      updated_at: new Date(),
    })

    await followNewestLink(client, email)
    await mailbox.waitFor(email, CHOOSE_MAIL)
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
    assert.lengthOf(await tokenRows(user.id, 'email_verification'), 0)
    // Only the reset token of the "choose a password" mail remains.
    assert.lengthOf(await tokenRows(user.id, 'password_reset'), 1)
    const stale = await client
      .post(`${API}/auth/password/reset`)
      .json({ token: squattersReset, password: SQUATTER })
    assertInvalidToken(stale)
  })

  test('A7: a link issued while another is pending carries no claim, whichever came first', async ({
    assert,
  }) => {
    const tokens = await tokenModule()
    const claim = { passwordHash: 'not-a-real-hash', name: 'Mallory' }
    const claimOf = async (userId: number) => {
      const [row] = await db
        .from('tokens')
        .where({ tokenable_id: userId, type: 'email_verification' })
      return row.claim
    }

    const alone = await createUser({ verified: false })
    await tokens.create(alone, 'email_verification', { claim })
    assert.deepEqual(await claimOf(alone.id), claim)

    // The notice of a second sign-up was issued before the creating sign-up's link.
    const contested = await createUser({ verified: false })
    await tokens.create(contested, 'email_verification')
    await tokens.create(contested, 'email_verification', { claim })
    assert.lengthOf(await tokenRows(contested.id, 'email_verification'), 1)
    assert.isNull(await claimOf(contested.id))
  })
})
