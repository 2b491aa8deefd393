import { domainToASCII } from 'node:url'

const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/**
 * The one place an email address is canonicalised (SECURITY.md A4):
 * surrounding spaces dropped, Unicode compatibility forms folded (NFKC:
 * full-width letters, ligatures…), lower-cased, the domain turned to its
 * ASCII (punycode) form. Local parts must be ASCII after folding, which
 * rules out look-alike letters from other scripts. The result is what is
 * stored, looked up, rate-limited and mailed to.
 *
 * Returns null when the input is not an address we accept.
 */
export function canonicalEmail(input: string): string | null {
  const folded = input.trim().normalize('NFKC').toLowerCase()
  if (folded.length > 254) return null
  const at = folded.lastIndexOf('@')
  if (at < 1) return null
  const local = folded.slice(0, at)
  const domain = domainToASCII(folded.slice(at + 1))
  if (local.length > 64 || !LOCAL_PART.test(local)) return null
  const labels = domain.split('.')
  if (!domain || labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label)))
    return null
  if (/^\d+$/.test(labels[labels.length - 1])) return null
  const email = `${local}@${domain}`
  return email.length <= 254 ? email : null
}
