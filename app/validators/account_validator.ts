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

/**
 * A sign-in's device name, shown in the session list. Some mobile
 * platforms send an empty one: empty, blank and null all mean "no name"
 * (`null`), never a 422 that fails the whole sign-in.
 */
const deviceName = () =>
  storedText(100)
    .nullable()
    .optional()
    .transform((value) => (value ? value : null))

export const signinValidator = vine.create({
  email: email(),
  password: presentedPassword(),
  deviceName: deviceName(),
})
