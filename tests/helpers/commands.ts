import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import type { BaseCommand } from '@adonisjs/core/ace'

/**
 * Runs an ace command in this process (the app is already booted) with its
 * output captured, and returns it for `assertSucceeded`, `assertFailed` and
 * `output()`.
 */
export async function runCommand<T extends typeof BaseCommand>(
  Command: T,
  argv: string[],
  prepare?: (command: InstanceType<T>) => void
) {
  const ace = await app.container.make('ace')
  const command = (await ace.create(Command, argv)) as InstanceType<T>
  command.ui.switchMode('raw')
  prepare?.(command)
  await command.exec()
  return Object.assign(command, {
    output: () =>
      command.ui.logger
        .getLogs()
        .map((log) => log.message)
        .join('\n'),
  })
}

/**
 * Takes the admin role from every user, so a test can make the only
 * admins itself. Tests run one at a time, so no other test is using them.
 */
export async function removeEveryAdmin() {
  await db
    .from('users')
    .whereRaw(`'admin' = any(roles)`)
    .update({ roles: db.raw(`array_remove(roles, 'admin')`) })
}

/**
 * Ids of the users holding the admin role, among `ids`.
 */
export async function adminsAmong(ids: number[]) {
  const rows = await db
    .from('users')
    .whereIn('id', ids)
    .whereRaw(`'admin' = any(roles)`)
    .select('id')
  return rows.map((row: { id: number | string }) => Number(row.id))
}
