import settings from '#config/setting'

/**
 * Email links, built from configured front-end URLs only — never from the
 * request's Host or X-Forwarded-Host (SECURITY.md R3). Opening a link is a
 * GET on the front end, which never consumes the token; the front end POSTs
 * it to the API.
 */
function withToken(base: string, token: string) {
  const url = new URL(base)
  url.searchParams.set('token', token)
  return url.toString()
}

export function verifyEmailLink(token: string) {
  return withToken(settings.links.verifyEmail, token)
}

export function resetPasswordLink(token: string) {
  return withToken(settings.links.resetPassword, token)
}
