import type { BaseCommand } from '@adonisjs/core/ace'
import type { VineValidator } from '@vinejs/vine'
import type { Infer, SchemaTypes } from '@vinejs/vine/types'

/**
 * How operator commands (`node ace user:*`, `limits:*`) take input: with
 * the API's own validators, so the command line accepts exactly what the
 * API accepts, canonical emails included.
 */

/**
 * Validates `data` with `validator`. On failure, prints one line per
 * failing field (`field: message`, never the value), sets the command's
 * exit code to 1 and returns `undefined`.
 */
export async function validateForCommand<Schema extends SchemaTypes>(
  command: BaseCommand,
  validator: VineValidator<Schema, any>,
  data: unknown
): Promise<Infer<Schema> | undefined> {
  const [error, output] = await validator.tryValidate(data)
  if (!error) return output
  for (const message of error.messages as Array<{ field: string; message: string }>) {
    command.logger.error(`${message.field}: ${message.message}`)
  }
  command.exitCode = 1
  return undefined
}

/**
 * The first line of a stream (without its `\n` or `\r\n`), for a password
 * piped to a command: `echo "$PASSWORD" | …` ends with a newline, and
 * anything after the first line is not part of the password. Stops reading
 * at the first newline.
 */
export async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    const newline = buffer.indexOf(0x0a)
    if (newline !== -1) {
      chunks.push(buffer.subarray(0, newline))
      break
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '')
}

/**
 * The user with this email, the argument validated and canonicalised as
 * the API does (`emailOnlyValidator`). Prints why and sets exit code 1
 * when the email is invalid or has no account, then returns `undefined`.
 */
export async function findUserForCommand(command: BaseCommand, address: string) {
  const [{ default: User }, { emailOnlyValidator }] = await Promise.all([
    import('#models/user'),
    import('#validators/account_validator'),
  ])
  const input = await validateForCommand(command, emailOnlyValidator, { email: address })
  if (!input) return undefined
  const user = await User.findBy('email', input.email)
  if (user) return user
  command.logger.error(`No user has the email ${input.email}`)
  command.exitCode = 1
  return undefined
}
