/**
 * What R5 forbids in logs and error bodies, as patterns, and a scanner that
 * reports where a secret turned up without printing the secret itself.
 */

/**
 * Stack traces: V8 frames ("at fn (file:line:col)", "at file:line"),
 * source positions and dependency paths.
 */
export const STACK_PATTERNS = [
  /\bat (?:async )?[\w$.<>[\]]+(?: \[as \w+\])? \((?:file:\/\/|node:|\/)/,
  /\bat (?:file:\/\/|node:internal|\/[\w.-]+\/)/,
  /\.(?:ts|js|mjs|cjs):\d+:\d+/,
  /node_modules\//,
]

/**
 * SQL statements.
 */
export const SQL_PATTERNS = [
  /\bselect\b[\s\S]{0,200}?\bfrom\b/i,
  /\binsert\s+into\b/i,
  /\bupdate\s+"?\w+"?\s+set\b/i,
  /\bdelete\s+from\b/i,
]

/**
 * PostgreSQL's and the driver's own error wording: never for clients
 * (DESIGN.md: no driver messages in responses).
 */
export const DRIVER_PATTERNS = [
  /syntax error at or near|violates (?:unique|foreign key|check|not-null) constraint|duplicate key value|relation "\w+"|SQLSTATE|invalid byte sequence|ECONNREFUSED|Knex/i,
]

export function looksLikeStack(text: string) {
  return STACK_PATTERNS.some((pattern) => pattern.test(text))
}

export function looksLikeSql(text: string) {
  return SQL_PATTERNS.some((pattern) => pattern.test(text))
}

export function looksLikeDriverMessage(text: string) {
  return DRIVER_PATTERNS.some((pattern) => pattern.test(text))
}

/**
 * A secret shown safely in a failure message: its kind, length and first
 * few characters.
 */
export function masked(kind: string, value: string) {
  return `${kind} (${value.length} chars, starts ${JSON.stringify(value.slice(0, 6))}…)`
}

/**
 * Every occurrence of any secret in `text`, as masked descriptions with the
 * line number and the line's first characters (secret replaced).
 */
export function findSecrets(text: string, secrets: Map<string, string>) {
  const findings: string[] = []
  const lines = text.split('\n')
  for (const [value, kind] of secrets) {
    // a lone surrogate (R7 tests send some) has no percent-encoded form
    const encoded = value.isWellFormed() ? encodeURIComponent(value) : value
    const forms = new Set([value, encoded, JSON.stringify(value).slice(1, -1)])
    for (const form of forms) {
      const index = text.indexOf(form)
      if (index < 0) continue
      const lineNumber = text.slice(0, index).split('\n').length
      const line = lines[lineNumber - 1].split(form).join('[SECRET]').slice(0, 200)
      findings.push(`${masked(kind, value)} on line ${lineNumber}: ${line}`)
      break
    }
  }
  return findings
}
