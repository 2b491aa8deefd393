import { errors } from '@adonisjs/auth'

/**
 * What every 401 says (API.md: `E_UNAUTHORIZED_ACCESS` for a missing,
 * malformed, expired, revoked or wrong-type token), in one place: the auth
 * middleware sends the body as it is (a refused token costs no exception:
 * PERFORMANCE.md P4), and the exception handler renders the guard's
 * `E_UNAUTHORIZED_ACCESS` with the same message.
 */
export const UNAUTHORIZED_MESSAGE = 'Unauthorized access'

export const UNAUTHORIZED_BODY = Object.freeze({
  errors: [Object.freeze({ code: 'E_UNAUTHORIZED_ACCESS', message: UNAUTHORIZED_MESSAGE })],
})

/**
 * The 401 as an exception, for code that has no response to write to (the
 * guard's `authenticate()`, a service that finds the signed-in account
 * gone); the exception handler renders it with the body above.
 */
export function unauthorizedAccess() {
  return new errors.E_UNAUTHORIZED_ACCESS(UNAUTHORIZED_MESSAGE, {
    guardDriverName: 'tessera_token',
  })
}
