import type { DateTime } from 'luxon'
import hash from '@adonisjs/core/services/hash'
import { compose } from '@adonisjs/core/helpers'
import { withAuthFinder } from '@adonisjs/auth/mixins/lucid'
import { UserSchema } from '#database/schema'

/**
 * An account. The email is stored canonical (app/services/email.ts); the
 * password column holds an argon2id hash, hashed by the auth mixin on save.
 */
export default class User extends compose(
  UserSchema,
  withAuthFinder(() => hash.use())
) {
  declare id: number
  declare roles: string[]
  declare emailVerifiedAt: DateTime | null

  /**
   * Lucid snapshots `$original` (its dirty tracking) with lodash's deep
   * `merge`, which walks the internals of every luxon DateTime: the largest
   * single cost of loading a user on each signed-in request. The values
   * here are immutable DateTimes, strings and the roles array, so a shallow
   * copy with its own roles array tracks changes the same way.
   */
  $hydrateOriginals() {
    const attributes = this.$attributes
    this.$original = { ...attributes }
    if (Array.isArray(attributes.roles)) this.$original.roles = [...attributes.roles]
  }

  get isVerified() {
    return this.emailVerifiedAt !== null
  }

  hasAnyRole(roles: readonly string[]) {
    return roles.some((role) => this.roles.includes(role))
  }

  /**
   * The user as every response shows it (API.md): never a password, hash
   * or token, whatever columns the table grows.
   */
  serializeForApi() {
    return {
      id: this.id,
      email: this.email,
      name: this.name,
      roles: this.roles,
      // the same ISO 8601 UTC text as luxon's toUTC().toISO(), for a
      // fraction of its cost on the signed-in hot path
      emailVerifiedAt: this.emailVerifiedAt?.toJSDate().toISOString() ?? null,
      createdAt: this.createdAt.toJSDate().toISOString(),
    }
  }
}
