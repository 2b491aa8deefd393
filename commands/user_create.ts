import { DateTime } from 'luxon'
import vine from '@vinejs/vine'
import { BaseCommand, args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { email, newPassword } from '#validators/fields'

const validator = vine.create({
  email: email(),
  password: newPassword(),
  roles: vine.array(vine.string().regex(/^[a-z][a-z0-9_-]{0,31}$/)).minLength(1),
})

/**
 * The only way to make the first admin: there are no default accounts.
 * The password is prompted for (hidden) on a terminal, or read from stdin
 * when piped, so it never appears in the process list or shell history.
 */
export default class UserCreate extends BaseCommand {
  static commandName = 'user:create'
  static description =
    'Create a user (e.g. the first admin); the password is prompted or read from stdin'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email address of the new user' })
  declare email: string

  @flags.array({ description: 'Role to grant (repeat for several)', default: ['user'] })
  declare role: string[]

  @flags.boolean({ description: 'Mark the email address as already confirmed' })
  declare verified: boolean

  async run() {
    const { default: User } = await import('#models/user')
    const password = process.stdin.isTTY
      ? await this.prompt.secure('Password for the new user')
      : await readStdin()

    const [error, input] = await validator.tryValidate({
      email: this.email,
      password,
      roles: this.role,
    })
    if (error) {
      for (const message of error.messages)
        this.logger.error(`${message.field}: ${message.message}`)
      this.exitCode = 1
      return
    }
    if (await User.findBy('email', input.email)) {
      this.logger.error(`A user with the email ${input.email} already exists`)
      this.exitCode = 1
      return
    }
    const user = await User.create({
      email: input.email,
      password: input.password,
      roles: [...new Set(input.roles)],
      emailVerifiedAt: this.verified ? DateTime.utc() : null,
    })
    this.logger.success(
      `Created user #${user.id} ${user.email} with roles ${user.roles.join(', ')}`
    )
  }
}

async function readStdin() {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}
