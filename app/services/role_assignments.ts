import User from '#models/user'
import ConflictException from '#exceptions/conflict_exception'
import { inTransaction } from '#services/transactions'

/**
 * The built-in role that holds `*`, every permission (API.md). Roles are
 * plain names in `users.roles`; holding this one is what makes an admin.
 */
export const ADMIN_ROLE = 'admin'

/**
 * Every change that could take `*` away from its last holder runs under
 * this transaction-scoped advisory lock, one at a time. A check made in
 * the same statement as the write would not do: under READ COMMITTED two
 * admins demoting each other at once both see the other still an admin,
 * and both writes land. The lock is released by COMMIT or ROLLBACK, so it
 * also works behind a transaction-mode pooler.
 */
const ADMIN_LOCK = `select pg_advisory_xact_lock(hashtext('tessera:holders-of-*'))`

/**
 * Replaces a user's roles with `roles` (deduplicated, order kept) and
 * returns the saved user. `userId` may be the route's digits as a string
 * (ids beyond 2^53 stay exact). Used by `PUT /admin/users/:id/roles` and
 * `node ace user:roles`, so both refuse the same things.
 *
 * @throws E_ROW_NOT_FOUND (404) when no user has that id.
 * @throws ConflictException (409 E_CONFLICT) when the change would leave
 *   no user holding the admin role (SECURITY.md A8): an installation must
 *   never lock itself out.
 */
export async function replaceRoles(userId: number | string, roles: string[]): Promise<User> {
  const wanted = [...new Set(roles)]
  return inTransaction(async (trx) => {
    await trx.rawQuery(ADMIN_LOCK)
    const user = await User.query({ client: trx }).where('id', userId).forUpdate().firstOrFail()
    if (user.roles.includes(ADMIN_ROLE) && !wanted.includes(ADMIN_ROLE)) {
      const other = await trx
        .from('users')
        .select('id')
        .whereNot('id', userId)
        .whereRaw('? = any(roles)', [ADMIN_ROLE])
        .first()
      if (!other) {
        throw new ConflictException(
          `This is the last user with the ${ADMIN_ROLE} role: make another user ${ADMIN_ROLE} first`
        )
      }
    }
    user.roles = wanted
    await user.save()
    return user
  })
}
