import { Readable } from 'node:stream'
import { test } from '@japa/runner'
import { readFirstLine } from '#services/operator_input'

test.group('Operator input | first line of a pipe', () => {
  test('keeps the first line only, without its LF or CRLF', async ({ assert }) => {
    assert.equal(await readFirstLine(Readable.from(['secret one\nsecond\n'])), 'secret one')
    assert.equal(await readFirstLine(Readable.from(['secret two\r\nsecond\r\n'])), 'secret two')
  })

  test('joins a first line split across chunks, spaces kept as typed', async ({ assert }) => {
    const chunks = [' par', 'tial lin', 'e \nrest', ' of it\n'].map((chunk) => Buffer.from(chunk))
    assert.equal(await readFirstLine(Readable.from(chunks)), ' partial line ')
  })

  test('takes input without a newline whole, and empty input as empty', async ({ assert }) => {
    assert.equal(await readFirstLine(Readable.from(['no newline'])), 'no newline')
    assert.equal(await readFirstLine(Readable.from([])), '')
  })

  test('decodes UTF-8 split across chunks', async ({ assert }) => {
    const bytes = Buffer.from('pässwörd\n')
    const chunks = [bytes.subarray(0, 2), bytes.subarray(2)]
    assert.equal(await readFirstLine(Readable.from(chunks)), 'pässwörd')
  })
})
