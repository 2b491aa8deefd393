import vine from '@vinejs/vine'
import { displayName, newPassword, presentedPassword } from '#validators/fields'

/**
 * `PATCH /me`: `name` is required; `null` clears it (the name is optional
 * at signup), while an empty or blank string is still refused as a likely
 * mistake.
 */
export const updateProfileValidator = vine.create({
  name: displayName().nullable(),
})

export const changePasswordValidator = vine.create({
  currentPassword: presentedPassword(),
  password: newPassword(),
})
