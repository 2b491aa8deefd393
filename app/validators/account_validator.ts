import vine from '@vinejs/vine'
import {
  displayName,
  email,
  linkToken,
  newPassword,
  presentedPassword,
  storedText,
} from '#validators/fields'

/**
 * Only the fields declared here ever leave a validator: extra keys in a
 * body (roles, emailVerifiedAt, id, __proto__…) are dropped (SECURITY.md A3).
 */
export const signupValidator = vine.create({
  email: email(),
  password: newPassword(),
  name: displayName().optional(),
})

export const emailOnlyValidator = vine.create({
  email: email(),
})

export const verifyEmailValidator = vine.create({
  token: linkToken(),
})

export const resetPasswordValidator = vine.create({
  token: linkToken(),
  password: newPassword(),
})

export const signinValidator = vine.create({
  email: email(),
  password: presentedPassword(),
  deviceName: storedText(100).minLength(1).optional(),
})
