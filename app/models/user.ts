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

  get profile(): Profile {
    return {
      id: this.id,
      email: this.email,
      name: this.name,
      roles: this.roles,
      emailVerifiedAt: this.emailVerifiedAt?.toJSDate() ?? null,
      createdAt: this.createdAt.toJSDate(),
    }
  }

  /**
   * The user as every response shows it (API.md).
   */
  serializeForApi() {
    return serializeProfile(this.profile)
  }
}

/**
 * What responses show of a user, from a `User` (`user.profile`) or straight
 * from a row (TokenModule's `Authentication`).
 */
export type Profile = {
  id: number
  email: string
  name: string | null
  roles: string[]
  emailVerifiedAt: Date | null
  createdAt: Date
}

/**
 * A user as every response shows it (API.md): the listed fields only, so
 * never a password, hash or token, whatever columns the table grows.
 */
export function serializeProfile(profile: Profile) {
  return {
    id: profile.id,
    email: profile.email,
    name: profile.name,
    roles: profile.roles,
    emailVerifiedAt: profile.emailVerifiedAt?.toISOString() ?? null,
    createdAt: profile.createdAt.toISOString(),
  }
}
