import { test } from '@japa/runner'
import { mailbox } from '#tests/helpers/mailbox'
import { resetTokenFor, verificationTokenFor } from '#tests/helpers/mail'
import { resetRateLimits, uniqueEmail } from '#tests/helpers/accounts'

test.group('Flows | account lifecycle', (group) => {
  group.each.setup(() => resetRateLimits())

  test('signs up, follows the mailed link, signs in and out', async ({ client, assert }) => {
    const email = uniqueEmail('flow')
    const password = 'a long and unusual passphrase'

    const signup = await client.post('/api/v1/auth/signup').json({ email, password, name: 'Flo' })
    signup.assertStatus(202)

    const unverified = await client.post('/api/v1/auth/signin').json({ email, password })
    unverified.assertStatus(403)
    unverified.assertBodyContains({ errors: [{ code: 'E_EMAIL_NOT_VERIFIED' }] })

    const verificationToken = await verificationTokenFor(email)
    assert.match(verificationToken, /^evt_/)
    const verified = await client
      .post('/api/v1/auth/email/verify')
      .json({ token: verificationToken })
    verified.assertStatus(200)
    assert.equal(verified.body().data.user.email, email)
    assert.isString(verified.body().data.user.emailVerifiedAt)

    const signin = await client
      .post('/api/v1/auth/signin')
      .json({ email, password, deviceName: 'Pixel' })
    signin.assertStatus(200)
    const { token, type, expiresAt, user } = signin.body().data
    assert.equal(type, 'bearer')
    assert.match(token, /^oat_/)
    assert.isAbove(Date.parse(expiresAt), Date.now())
    assert.deepEqual(Object.keys(user).sort(), [
      'createdAt',
      'email',
      'emailVerifiedAt',
      'id',
      'name',
      'roles',
    ])

    const me = await client.get('/api/v1/me').bearerToken(token)
    me.assertStatus(200)
    me.assertBodyContains({ data: { email, name: 'Flo', roles: ['user'] } })

    const sessions = await client.get('/api/v1/me/sessions').bearerToken(token)
    sessions.assertStatus(200)
    assert.lengthOf(sessions.body().data, 1)
    assert.include(sessions.body().data[0], { name: 'Pixel', current: true })

    const signout = await client.post('/api/v1/auth/signout').bearerToken(token)
    signout.assertStatus(204)
    const after = await client.get('/api/v1/me').bearerToken(token)
    after.assertStatus(401)
    after.assertBodyContains({ errors: [{ code: 'E_UNAUTHORIZED_ACCESS' }] })
  })

  test('resets a forgotten password through the mailed link and kills old sessions', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('reset')
    const password = 'the first long passphrase'
    await client.post('/api/v1/auth/signup').json({ email, password })
    await client
      .post('/api/v1/auth/email/verify')
      .json({ token: await verificationTokenFor(email) })
    const firstSignin = await client.post('/api/v1/auth/signin').json({ email, password })
    const oldToken = firstSignin.body().data.token

    const forgot = await client.post('/api/v1/auth/password/forgot').json({ email })
    forgot.assertStatus(202)
    const resetToken = await resetTokenFor(email)
    assert.match(resetToken, /^prt_/)

    const newPassword = 'the second long passphrase'
    const reset = await client
      .post('/api/v1/auth/password/reset')
      .json({ token: resetToken, password: newPassword })
    reset.assertStatus(200)

    const oldSession = await client.get('/api/v1/me').bearerToken(oldToken)
    oldSession.assertStatus(401)
    const withOldPassword = await client.post('/api/v1/auth/signin').json({ email, password })
    withOldPassword.assertStatus(400)
    const withNewPassword = await client
      .post('/api/v1/auth/signin')
      .json({ email, password: newPassword })
    withNewPassword.assertStatus(200)
    await mailbox.waitFor(email, /Your password was changed/)
  })
})
