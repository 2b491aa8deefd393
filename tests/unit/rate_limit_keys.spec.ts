import { test } from '@japa/runner'
import { clientBucket } from '#services/rate_limits'

test.group('Rate limits | client buckets', () => {
  test('keeps an IPv4 address as it is', ({ assert }) => {
    assert.equal(clientBucket('203.0.113.7'), '203.0.113.7')
    assert.equal(clientBucket('127.0.0.1'), '127.0.0.1')
    assert.notEqual(clientBucket('203.0.113.7'), clientBucket('203.0.113.8'))
  })

  test('counts an IPv4-mapped IPv6 address as its IPv4 address', ({ assert }) => {
    assert.equal(clientBucket('::ffff:203.0.113.7'), '203.0.113.7')
    assert.equal(clientBucket('::FFFF:203.0.113.7'), '203.0.113.7')
    assert.notEqual(clientBucket('::ffff:203.0.113.7'), clientBucket('::ffff:203.0.113.8'))
  })

  test('counts every notation of an IPv4-mapped address as its IPv4 address', ({ assert }) => {
    assert.equal(clientBucket('::ffff:cb00:7107'), '203.0.113.7')
    assert.equal(clientBucket('0:0:0:0:0:ffff:203.0.113.7'), '203.0.113.7')
    assert.equal(clientBucket('0000:0000:0000:0000:0000:ffff:cb00:7107'), '203.0.113.7')
    assert.notEqual(clientBucket('::ffff:cb00:7107'), clientBucket('::ffff:cb00:7108'))
    assert.notEqual(clientBucket('::ffff:cb00:7107'), clientBucket('::1'))
  })

  test('puts every address of one IPv6 /64 in one bucket', ({ assert }) => {
    const bucket = clientBucket('2001:db8:1:2::1')

    for (const address of [
      '2001:db8:1:2::2',
      '2001:db8:1:2:aaaa:bbbb:cccc:dddd',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:DB8:1:2::1',
      '2001:db8:1:2::',
      '2001:db8:1:2:0:0:0:1',
      '2001:db8:1:2::1%eth0',
    ]) {
      assert.equal(clientBucket(address), bucket, address)
    }
    assert.notEqual(bucket, '2001:db8:1:2::1')
  })

  test('treats compressed and expanded forms of one address alike', ({ assert }) => {
    assert.equal(
      clientBucket('2001:db8::1'),
      clientBucket('2001:0db8:0000:0000:0000:0000:0000:0001')
    )
    assert.equal(clientBucket('2001:db8::1:0:0:1'), clientBucket('2001:db8:0:0:1::1'))
    assert.equal(clientBucket('::1'), clientBucket('0:0:0:0:0:0:0:1'))
  })

  test('gives different IPv6 /64 networks different buckets', ({ assert }) => {
    const buckets = [
      '2001:db8:1:2::1',
      '2001:db8:1:3::1',
      '2001:db8:2:2::1',
      '2001:db9:1:2::1',
      '2001:db8::1',
      '2001:db8:0:1::1',
      '::1',
    ].map(clientBucket)

    assert.lengthOf(new Set(buckets), buckets.length)
  })

  test('never mixes an IPv4 client with an IPv6 network', ({ assert }) => {
    assert.notEqual(clientBucket('203.0.113.7'), clientBucket('2001:db8:1:2::1'))
    assert.notEqual(clientBucket('::ffff:203.0.113.7'), clientBucket('::1'))
  })
})
