import { domainToUnicode } from 'node:url'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { mailbox } from '#tests/helpers/mailbox'
import { signUpVerified, waitForCount } from '#tests/helpers/mail'
import {
  PASSWORD,
  assertOneMailBucket,
  assertOneSigninBucket,
  createUser,
  randomLetters,
  resetRateLimits,
  withSettings,
} from '#tests/helpers/accounts'

/**
 * SECURITY.md A4 beyond the functional suite's case/space/full-width test:
 * compatibility forms (ligatures, the Kelvin sign, long s, circled and
 * full-width letters, full-width "@" and "."), decomposed accents,
 * internationalised domains against their punycode, and look-alike letters
 * from other scripts — which must be refused, never become a second account
 * that looks the same. Mail always goes to the stored canonical address.
 */

const API = '/api/v1'

/**
 * Full-width forms of ASCII letters, digits and "@", ".", "-".
 */
function fullWidth(text: string) {
  return [...text]
    .map((char) => (/[!-~]/.test(char) ? String.fromCharCode(char.charCodeAt(0) + 0xfee0) : char))
    .join('')
}

/**
 * More room on the mail and sign-in limits than one address normally gets,
 * for tests about identity rather than limits.
 */
function roomyLimits(s: Parameters<Parameters<typeof withSettings>[0]>[0]) {
  s.rateLimits.mail.perEmail.requests = 100
  s.rateLimits.mail.perIp.requests = 1000
  s.rateLimits.signin.perEmail.requests = 100
  s.rateLimits.signin.perIp.requests = 1000
  s.rateLimits.signin.perIpEmail.requests = 100
}

/**
 * How the suite's SMTP server reports a recipient: the `smtp-server`
 * package turns a punycode domain in RCPT TO back into Unicode, so the
 * canonical `…@xn--bcher-kva.example` arrives as `…@bücher.example`
 * (composed, lower-case — still distinct from every other spelling typed).
 */
function asReceived(address: string) {
  const at = address.lastIndexOf('@')
  return `${address.slice(0, at)}@${domainToUnicode(address.slice(at + 1))}`
}

async function usersLike(tag: string) {
  return db.from('users').whereILike('email', `%${tag}%`)
}

/**
 * Messages whose envelope names any address containing `tag` in any
 * spelling (case- and compatibility-folded).
 */
function mailAbout(tag: string) {
  return mailbox.messages.filter((message) =>
    message.to.some((to) => to.normalize('NFKC').toLowerCase().includes(tag))
  )
}

function settle() {
  return new Promise((resolve) => setTimeout(resolve, 300))
}

/**
 * One address, `fiks-<tag>@bücher.example`, stored as its canonical form
 * `fiks-<tag>@xn--bcher-kva.example`, and spellings that must all be it.
 */
function spellingsOf(tag: string) {
  const canonical = `fiks-${tag}@xn--bcher-kva.example`
  const spellings: Record<string, string> = {
    'ligature ﬁ and Kelvin sign': `\uFB01\u212As-${tag}@bücher.example`,
    'long s ſ, upper-case IDN domain': `fikſ-${tag}@BÜCHER.EXAMPLE`,
    'full-width everything': `${fullWidth(`fiks-${tag}@`)}ｂüｃｈｅｒ${fullWidth('.example')}`,
    'circled letters': `\u24D5\u24D8\u24DA\u24E2-${tag}@bücher.example`,
    'upper case, punycode domain, spaces': `  FIKS-${tag.toUpperCase()}@XN--BCHER-KVA.Example\t`,
    'decomposed ü (u + U+0308)': `fiks-${tag}@bu\u0308cher.example`,
    'soft hyphen inside the IDN label': `fiks-${tag}@bü\u00ADcher.example`,
    'ideographic full stop': `fiks-${tag}@bücher\u3002example`,
    'punycode': canonical,
  }
  return { canonical, spellings }
}

/**
 * Look-alikes that are not the same address: letters from other scripts,
 * letters outside ASCII that case-fold or upper-case to ASCII elsewhere
 * (the Django CVE-2019-19844 family), invisible and combining characters,
 * and bidi controls. Each replaces or decorates one letter of `local`.
 */
function lookAlikesOf(local: string) {
  const swap = (from: string, to: string) => local.replace(from, to)
  return {
    'Cyrillic а': swap('a', '\u0430'),
    'Cyrillic е': swap('e', '\u0435'),
    'Cyrillic о': swap('o', '\u043E'),
    'Cyrillic р': swap('p', '\u0440'),
    'Cyrillic с': swap('c', '\u0441'),
    'Cyrillic х': swap('x', '\u0445'),
    'Cyrillic і': swap('i', '\u0456'),
    'Greek ο': swap('o', '\u03BF'),
    'Greek α': swap('a', '\u03B1'),
    'Cherokee Ꭺ': swap('a', '\u13AA'),
    'Turkish dotless ı': swap('i', '\u0131'),
    'Turkish dotted İ': swap('i', '\u0130'),
    'German ß for ss': swap('ss', '\u00DF'),
    'capital ẞ for ss': swap('ss', '\u1E9E'),
    'zero-width space': swap('c', 'c\u200B'),
    'zero-width joiner': swap('c', 'c\u200D'),
    'soft hyphen': swap('c', 'c\u00AD'),
    'combining acute': swap('e', 'e\u0301'),
    'right-to-left override': `\u202E${local}`,
  }
}

test.group('Security | email canonicalisation', (group) => {
  group.each.setup(() => resetRateLimits())

  test('A4: ligatures, Kelvin sign, long s, full-width and circled letters, case, IDN and punycode spellings are one account', async ({
    client,
    assert,
  }) => {
    const tag = randomLetters(8)
    const { canonical, spellings } = spellingsOf(tag)
    const [first, ...others] = Object.entries(spellings)

    await withSettings(roomyLimits, async () => {
      await signUpVerified(client, first[1], PASSWORD, asReceived(canonical))
      for (const [label, email] of others) {
        const signup = await client
          .post(`${API}/auth/signup`)
          .json({ email, password: 'another passphrase entirely' })
        assert.equal(signup.status(), 202, `${label}: ${signup.status()}`)
      }
      await waitForCount(asReceived(canonical), /already have an account/, others.length)

      const rows = await usersLike(tag)
      assert.lengthOf(rows, 1, 'one account for every spelling')
      assert.equal(rows[0].email, canonical)

      for (const [label, email] of Object.entries(spellings)) {
        const signin = await client.post(`${API}/auth/signin`).json({ email, password: PASSWORD })
        assert.equal(signin.status(), 200, `${label}: sign-in answered ${signin.status()}`)
        assert.equal(signin.body().data.user.email, canonical, label)
      }
    })
  })

  test('A4: mail for every spelling goes to the stored canonical address only', async ({
    client,
    assert,
  }) => {
    const tag = randomLetters(8)
    const { canonical, spellings } = spellingsOf(tag)
    const typed = Object.values(spellings).filter((email) => email !== canonical)

    await withSettings(roomyLimits, async () => {
      // An account still pending confirmation, signed up with one spelling…
      const signup = await client
        .post(`${API}/auth/signup`)
        .json({ email: typed[0], password: PASSWORD })
      signup.assertStatus(202)
      await mailbox.waitFor(asReceived(canonical), /Confirm your email/)
      // …then every mail route, each spelling in turn.
      for (const [index, email] of typed.entries()) {
        const path = ['/auth/email/resend', '/auth/password/forgot', '/auth/signup'][index % 3]
        const response = await client.post(`${API}${path}`).json({ email, password: PASSWORD })
        assert.equal(response.status(), 202, `${path} with ${JSON.stringify(email)}`)
      }
      const expected = 1 + typed.length
      const deadline = Date.now() + 5000
      while (mailAbout(tag).length < expected && Date.now() < deadline) await settle()
      await settle()
    })

    const messages = mailAbout(tag)
    assert.lengthOf(messages, 1 + typed.length)
    for (const message of messages) {
      assert.deepEqual(
        message.to,
        [asReceived(canonical)],
        `"${message.subject}" went to ${message.to}`
      )
    }
    const [row] = await usersLike(tag)
    assert.equal(row.email, canonical, 'stored in its ASCII form')
  })

  test('A4: the Unicode spellings share one rate-limit bucket', async ({ client }) => {
    const tag = randomLetters(8)
    const { canonical, spellings } = spellingsOf(tag)
    await createUser({ email: canonical })
    const [a, b, c, d] = [
      spellings['ligature ﬁ and Kelvin sign'],
      spellings['full-width everything'],
      spellings['decomposed ü (u + U+0308)'],
      spellings['upper case, punycode domain, spaces'],
    ]

    // Mail routes: three per address per window, whatever the spelling.
    await assertOneMailBucket(client, [a, b, c], d)

    // Sign-in: the per-email bucket (10), the other two raised so only it can trip.
    await assertOneSigninBucket(client, [a, b, c], d)
  })

  test('A4: look-alike, invisible and combining characters in the local part are refused with 422 on every route', async ({
    client,
    assert,
  }) => {
    const tag = randomLetters(8)
    const local = `ocean-spixss-${tag}`
    const canonical = `${local}@example.com`
    await createUser({ email: canonical })
    const before = mailAbout(tag).length
    const routes = ['/auth/signup', '/auth/signin', '/auth/password/forgot', '/auth/email/resend']

    const accepted: string[] = []
    for (const [label, lookAlike] of Object.entries(lookAlikesOf(local))) {
      assert.notEqual(lookAlike, local, `${label} changed nothing`)
      for (const route of routes) {
        const response = await client
          .post(`${API}${route}`)
          .json({ email: `${lookAlike}@example.com`, password: 'a fine long passphrase' })
        if (response.status() !== 422) {
          accepted.push(`${label} on ${route}: ${response.status()}`)
          continue
        }
        response.assertBodyContains({ errors: [{ code: 'E_VALIDATION_ERROR', field: 'email' }] })
      }
    }
    assert.deepEqual(accepted, [])

    const rows = await usersLike(tag)
    assert.deepEqual(
      rows.map((row) => row.email),
      [canonical],
      'no second account that looks the same'
    )
    await settle()
    assert.lengthOf(mailAbout(tag), before, 'no mail was sent for a look-alike')
  })

  test('A4: a look-alike domain is another address, stored in visible punycode, and never reaches the original', async ({
    client,
    assert,
  }) => {
    const tag = randomLetters(8)
    const original = `alice-${tag}@example.com`
    await createUser({ email: original })
    // "exаmple.com" with a Cyrillic "а": a different domain (another mail
    // server), so a different address — kept apart in its ASCII form.
    const lookAlike = `alice-${tag}@ex\u0430mple.com`
    const stored = `alice-${tag}@xn--exmple-4nf.com`

    const signup = await client
      .post(`${API}/auth/signup`)
      .json({ email: lookAlike, password: 'a fine long passphrase' })
    signup.assertStatus(202)
    const forgot = await client.post(`${API}/auth/password/forgot`).json({ email: original })
    forgot.assertStatus(202)
    await mailbox.waitFor(asReceived(stored), /Confirm your email/)
    await mailbox.waitFor(original, /Reset your password/)
    await settle()

    const rows = await usersLike(tag)
    assert.sameMembers(
      rows.map((row) => row.email),
      [original, stored]
    )
    assert.deepEqual(
      mailbox.to(original).map((message) => message.subject),
      ['Reset your password'],
      'the original address got only its own reset mail'
    )
    for (const message of mailAbout(tag)) {
      assert.oneOf(message.to.join(','), [original, asReceived(stored)])
    }

    // Signing in with the look-alike never opens the original account.
    const signin = await client
      .post(`${API}/auth/signin`)
      .json({ email: lookAlike, password: PASSWORD })
    signin.assertStatus(400)
  })
})
