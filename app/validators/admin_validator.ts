import vine from '@vinejs/vine'
import { storedText } from '#validators/fields'

export const listUsersValidator = vine.create({
  page: vine.number().withoutDecimals().min(1).max(1_000_000).optional(),
  perPage: vine.number().withoutDecimals().min(1).max(100).optional(),
  q: storedText(254).optional(),
})

export const updateRolesValidator = vine.create({
  roles: vine
    .array(
      vine
        .string()
        .trim()
        .regex(/^[a-z][a-z0-9_-]{0,31}$/)
    )
    .maxLength(20),
})
