import vine from '@vinejs/vine'
import type { FieldContext } from '@vinejs/vine/types'
import settings from '#config/setting'
import { canonicalEmail } from '#services/email'
import { isCommonPassword } from '#services/password_policy'

/**
 * Field rules shared by the validators. Every string is capped before any
 * other work, so an oversized value is rejected cheaply.
 */

const canonicalEmailRule = vine.createRule((value: unknown, _: undefined, field: FieldContext) => {
  if (typeof value !== 'string') return
  const email = canonicalEmail(value)
  if (!email) {
    field.report('Enter a valid email address', 'email', field)
    return
  }
  field.mutate(email, field)
})

const notCommonRule = vine.createRule((value: unknown, _: undefined, field: FieldContext) => {
  if (typeof value === 'string' && settings.password.checkCommon && isCommonPassword(value)) {
    field.report(
      'This password is too common: it appears in lists of breached passwords. Choose another',
      'commonPassword',
      field
    )
  }
})

const noNulRule = vine.createRule((value: unknown, _: undefined, field: FieldContext) => {
  if (typeof value === 'string' && value.includes('\u0000')) {
    field.report('The {{ field }} field must not contain NUL characters', 'noNul', field)
  }
})

/**
 * An email address, canonicalised (app/services/email.ts).
 */
export const email = () => vine.string().maxLength(320).use(canonicalEmailRule())

/**
 * A new password: taken exactly as typed (never trimmed), length checked
 * before anything else, common passwords refused with a reason.
 */
export const newPassword = () =>
  vine
    .string()
    .minLength(settings.password.minLength)
    .maxLength(settings.password.maxLength)
    .use(notCommonRule())

/**
 * A password presented for checking (sign-in, current password): only the
 * maximum applies, so hashing cost stays bounded while accounts created
 * under an older policy can still sign in.
 */
export const presentedPassword = () =>
  vine.string().minLength(1).maxLength(settings.password.maxLength)

/**
 * A token from an email link.
 */
export const linkToken = () => vine.string().minLength(1).maxLength(256)

/**
 * Text that is stored or searched: PostgreSQL cannot store a NUL byte, so
 * it is refused here (422) rather than failing in the database.
 */
export const storedText = (max: number) => vine.string().trim().maxLength(max).use(noNulRule())

/**
 * A display name.
 */
export const displayName = () => storedText(100).minLength(1)
