import { DateTime } from 'luxon'
import vine from '@vinejs/vine'
import { BaseCommand, args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { email, newPassword } from '#validators/fields'
import { roleMessages, roleNames } from '#validators/admin_validator'
import { readFirstLine, validateForCommand } from '#services/operator_input'

const validator = vine.create({
  email: email(),
  password: newPassword(),
  roles: roleNames().minLength(1),
})
validator.messagesProvider = roleMessages

/**
 * The only way to make the first admin: there are no default accounts.
 * The password is prompted for twice (hidden) on a terminal, or read from
 * the first line of stdin when piped, so it never appears in the process
 * list or shell history.
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
    const password = await this.#readPassword()
    if (password === undefined) return

    const input = await validateForCommand(this, validator, {
      email: this.email,
      password,
      roles: this.role,
    })
    if (!input) return
    if (await User.findBy('email', input.email)) {
      this.logger.error(`A user with the email ${input.email} already exists`)
      this.exitCode = 1
      return
    }
    /**
     * One instant for every timestamp: a confirmation cannot predate the
     * account it confirms.
     */
    const now = DateTime.utc()
    const user = await User.create({
      email: input.email,
      password: input.password,
      roles: [...new Set(input.roles)],
      createdAt: now,
      updatedAt: now,
      emailVerifiedAt: this.verified ? now : null,
    })
    this.logger.success(
      `Created user #${user.id} ${user.email} with roles ${user.roles.join(', ')}`
    )
  }

  /**
   * On a terminal, asks twice and refuses a mismatch; piped, takes the
   * first line of stdin.
   */
  async #readPassword() {
    if (!process.stdin.isTTY) return readFirstLine(process.stdin)
    const password = await this.prompt.secure('Password for the new user')
    const confirmation = await this.prompt.secure('Repeat the password')
    if (password === confirmation) return password
    this.logger.error('The two passwords differ; nothing was created')
    this.exitCode = 1
    return undefined
  }
}
