import vine from '@vinejs/vine'
import { displayName, newPassword, presentedPassword } from '#validators/fields'

export const updateProfileValidator = vine.create({
  name: displayName(),
})

export const changePasswordValidator = vine.create({
  currentPassword: presentedPassword(),
  password: newPassword(),
})
