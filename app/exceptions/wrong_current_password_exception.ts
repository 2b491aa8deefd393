import { errors } from '@vinejs/vine'

/**
 * A password change whose current password is wrong: a 422 on the
 * `currentPassword` field, in the shape of any other validation error
 * (API.md), since it is the client's input that is wrong.
 */
export default class WrongCurrentPasswordException extends errors.E_VALIDATION_ERROR {
  constructor() {
    super([
      {
        field: 'currentPassword',
        rule: 'currentPassword',
        message: 'The current password is not correct',
      },
    ])
  }
}
