import pg from 'pg'

/**
 * Records every statement this process sends to PostgreSQL while `work`
 * runs, at the lowest level: `pg.Client#query`, which knex (Lucid) and the
 * limiter's database store call for every statement on every pooled
 * connection. Returns the statements' text with their values left out
 * (bindings travel separately), so two runs with different emails compare
 * equal when they did the same work.
 */
export async function recordQueries<T>(work: () => Promise<T>): Promise<[string[], T]> {
  const original = pg.Client.prototype.query
  const statements: string[] = []
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string }
    statements.push(normalise(typeof config === 'string' ? config : String(config?.text)))
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof original
  try {
    const result = await work()
    return [statements, result]
  } finally {
    pg.Client.prototype.query = original
  }
}

/**
 * Whitespace collapsed and lower-cased: the statement's shape.
 */
function normalise(statement: string) {
  return statement.replace(/\s+/g, ' ').trim().toLowerCase()
}

/**
 * The statements in `a` that are not in `b`, as a multiset difference.
 */
export function statementsMissingFrom(a: string[], b: string[]) {
  const left = [...b]
  return a.filter((statement) => {
    const index = left.indexOf(statement)
    if (index < 0) return true
    left.splice(index, 1)
    return false
  })
}
