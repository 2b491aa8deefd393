import { dictionary } from '@zxcvbn-ts/language-common'

let common: Set<string> | undefined

/**
 * True for passwords on the common-password list shipped with zxcvbn-ts
 * (~49,000 passwords seen most often in breaches), compared without case.
 * NIST 800-63B asks for such a blocklist instead of composition rules.
 */
export function isCommonPassword(password: string) {
  common ??= new Set(
    (dictionary['passwords-common'] as string[]).map((entry) => entry.toLowerCase())
  )
  return common.has(password.toLowerCase())
}
