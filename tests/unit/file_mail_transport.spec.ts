import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import FileMailTransport from '#services/file_mail_transport'

test.group('Mail | file transport', (group) => {
  let directory: string

  group.each.setup(async () => {
    directory = await mkdtemp(join(app.makePath('tmp'), 'mail-unit-'))
    return () => rm(directory, { recursive: true, force: true })
  })

  test('writes each message as an owner-only .eml file carrying its text', async ({ assert }) => {
    const transport = new FileMailTransport(join(directory, 'nested'))
    const response = await transport.send({
      from: 'Tessera <no-reply@tessera.local>',
      to: ['someone@example.com'],
      subject: 'Reset your password',
      text: 'Choose a new password here: https://app.example.com/reset-password?token=prt_x',
    })

    const files = await readdir(join(directory, 'nested'))
    assert.lengthOf(files, 1)
    assert.match(files[0], /\.eml$/)
    const path = join(directory, 'nested', files[0])
    const content = await readFile(path, 'utf8')
    assert.include(content, 'Subject: Reset your password')
    assert.include(content, 'To: someone@example.com')
    assert.include(content, 'reset-password?token=prt_x')
    const info = await stat(path)
    assert.equal(info.mode & 0o777, 0o600)
    assert.isString(response.messageId)
  })

  test('writes links as they are, so they can be copied from the file', async ({ assert }) => {
    const link = `https://app.example.com/verify-email?token=evt_${'A'.repeat(120)}&lang=fr`
    const transport = new FileMailTransport(directory)
    await transport.send({
      to: ['someone@example.com'],
      subject: 'Confirm',
      text: `Bonjour Zoë,\n\nConfirm your address: ${link}\n`,
    })
    await transport.send({
      to: ['someone@example.com'],
      subject: 'Confirm (html too)',
      text: `Confirm your address: ${link}\n`,
      html: `<p>Confirm your address: <a href="${link}">${link}</a></p>`,
    })

    const files = await readdir(directory)
    files.sort()
    for (const file of files) {
      const content = await readFile(join(directory, file), 'utf8')
      assert.include(content, link)
      assert.notInclude(content, '=3D')
      assert.notMatch(content, /=\n/)
      assert.notInclude(content, 'quoted-printable')
    }
    assert.include(await readFile(join(directory, files[0]), 'utf8'), 'Bonjour Zoë')
  })

  test('keeps one file per message', async ({ assert }) => {
    const transport = new FileMailTransport(directory)
    for (const subject of ['one', 'two', 'three']) {
      await transport.send({ to: ['someone@example.com'], subject, text: subject })
    }
    const files = await readdir(directory)
    assert.lengthOf(files, 3)
  })
})
