import { test } from '@japa/runner'
import { canonicalEmail } from '#services/email'

const LABEL = 'a'.repeat(63)

test.group('Accounts | email canonicalisation', () => {
  test('trims surrounding spaces and lower-cases the address', ({ assert }) => {
    assert.equal(canonicalEmail('  Alice@Example.COM  '), 'alice@example.com')
    assert.equal(canonicalEmail('\tALICE@EXAMPLE.COM\n'), 'alice@example.com')
    assert.equal(canonicalEmail('alice@example.com'), 'alice@example.com')
  })

  test('keeps the characters a local part may hold', ({ assert }) => {
    assert.equal(canonicalEmail('Alice.Smith+Tag@example.com'), 'alice.smith+tag@example.com')
    assert.equal(canonicalEmail("o'brien_x-y@sub.example.co.uk"), "o'brien_x-y@sub.example.co.uk")
  })

  test('folds unicode compatibility forms to one address', ({ assert }) => {
    assert.equal(canonicalEmail('ＡＬＩＣＥ@EXAMPLE.COM'), 'alice@example.com')
    assert.equal(canonicalEmail('alice@ＥＸＡＭＰＬＥ．ＣＯＭ'), 'alice@example.com')
    assert.equal(canonicalEmail('ﬁnn@example.com'), 'finn@example.com')
    assert.equal(canonicalEmail('\u212Aate@example.com'), 'kate@example.com')
  })

  test('turns an internationalised domain into punycode', ({ assert }) => {
    assert.equal(canonicalEmail('user@bücher.example'), 'user@xn--bcher-kva.example')
    assert.equal(canonicalEmail('User@BÜCHER.Example'), 'user@xn--bcher-kva.example')
    assert.equal(canonicalEmail('user@xn--bcher-kva.example'), 'user@xn--bcher-kva.example')
  })

  test('rejects look-alike letters from other scripts in the local part', ({ assert }) => {
    assert.isNull(canonicalEmail('\u0430lice@example.com'))
    assert.isNull(canonicalEmail('\u0410LICE@example.com'))
    assert.isNull(canonicalEmail('ali\u0441e@example.com'))
    assert.isNull(canonicalEmail('m\u0131ke@example.com'))
    assert.isNull(canonicalEmail('\u0130nci@example.com'))
    assert.isNull(canonicalEmail('alice\u200b@example.com'))
  })

  test('rejects an address without an @ or a local part', ({ assert }) => {
    assert.isNull(canonicalEmail('alice.example.com'))
    assert.isNull(canonicalEmail('@example.com'))
    assert.isNull(canonicalEmail('  @example.com'))
    assert.isNull(canonicalEmail('alice@'))
    assert.isNull(canonicalEmail(''))
    assert.isNull(canonicalEmail('   '))
    assert.isNull(canonicalEmail('alice@bob@example.com'))
  })

  test('rejects leading, trailing and double dots', ({ assert }) => {
    assert.isNull(canonicalEmail('.alice@example.com'))
    assert.isNull(canonicalEmail('alice.@example.com'))
    assert.isNull(canonicalEmail('al..ice@example.com'))
    assert.isNull(canonicalEmail('alice@.example.com'))
    assert.isNull(canonicalEmail('alice@example.com.'))
    assert.isNull(canonicalEmail('alice@example..com'))
  })

  test('rejects a local part longer than 64 characters', ({ assert }) => {
    const local = 'a'.repeat(64)

    assert.equal(canonicalEmail(`${local}@example.com`), `${local}@example.com`)
    assert.isNull(canonicalEmail(`${local}b@example.com`))
  })

  test('rejects an address longer than 254 characters', ({ assert }) => {
    const local = 'a'.repeat(64)
    const longest = `${local}@${LABEL}.${LABEL}.${'c'.repeat(57)}.com`
    const tooLong = `${local}@${LABEL}.${LABEL}.${'c'.repeat(58)}.com`

    assert.lengthOf(longest, 254)
    assert.equal(canonicalEmail(longest), longest)
    assert.lengthOf(tooLong, 255)
    assert.isNull(canonicalEmail(tooLong))
    assert.isNull(canonicalEmail(`alice@${`${LABEL}.`.repeat(5)}com`))
  })

  test('rejects a domain label longer than 63 characters', ({ assert }) => {
    assert.equal(canonicalEmail(`alice@${LABEL}.com`), `alice@${LABEL}.com`)
    assert.isNull(canonicalEmail(`alice@${LABEL}a.com`))
  })

  test('rejects a numeric top-level domain and bare hosts', ({ assert }) => {
    assert.isNull(canonicalEmail('alice@example.123'))
    assert.isNull(canonicalEmail('alice@127.0.0.1'))
    assert.isNull(canonicalEmail('alice@localhost'))
    assert.isNull(canonicalEmail('alice@[127.0.0.1]'))
    assert.equal(canonicalEmail('alice@example.com2'), 'alice@example.com2')
  })

  test('rejects spaces, quotes and separators inside the address', ({ assert }) => {
    assert.isNull(canonicalEmail('alice smith@example.com'))
    assert.isNull(canonicalEmail('"alice"@example.com'))
    assert.isNull(canonicalEmail('alice@exa mple.com'))
    assert.isNull(canonicalEmail('alice@-example.com'))
    assert.isNull(canonicalEmail('alice@example-.com'))
    assert.isNull(canonicalEmail('alice@example.com, bob@example.com'))
    assert.isNull(canonicalEmail('alice@example.com\nbcc: bob@example.com'))
  })

  test('is idempotent', ({ assert }) => {
    for (const input of ['  ＡＬＩＣＥ@EXAMPLE.COM', 'User@BÜCHER.Example', 'Bob+x@Example.org']) {
      const once = canonicalEmail(input)
      assert.isNotNull(once)
      assert.equal(canonicalEmail(once!), once)
    }
  })
})
