import vine, { SimpleMessagesProvider } from '@vinejs/vine'
import { storedText } from '#validators/fields'
import { ROLE_NAME } from '#services/role_names'

/**
 * Messages for the items of `roles`: Vine names an array item by its
 * index ("The 0 field format is invalid"), which tells a client nothing.
 * These say what a role name may contain.
 */
export const roleMessages = new SimpleMessagesProvider({
  'roles.*.string': 'Each role must be a string: a role name',
  'roles.*.regex':
    'A role name starts with a lowercase letter (a-z) and continues with at most 31 lowercase letters, digits, "_" or "-"',
})

/**
 * A list of role names (deduplicated by the caller). Validators using it
 * attach `roleMessages`.
 */
export const roleNames = () => vine.array(vine.string().trim().regex(ROLE_NAME)).maxLength(20)

export const listUsersValidator = vine.create({
  page: vine.number().withoutDecimals().min(1).max(1_000_000).optional(),
  perPage: vine.number().withoutDecimals().min(1).max(100).optional(),
  q: storedText(254).optional(),
})

/**
 * `PUT /admin/users/:id/roles` and `node ace user:roles`.
 */
export const updateRolesValidator = vine.create({
  roles: roleNames(),
})
updateRolesValidator.messagesProvider = roleMessages
