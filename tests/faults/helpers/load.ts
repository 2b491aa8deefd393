import { randomBytes, randomInt } from 'node:crypto'
import type { Mailbox } from '#tests/helpers/mailbox'
import { sleep } from '#tests/faults/helpers/processes'

export type Kind = 'signin' | 'guess' | 'me' | 'forgot' | 'reset' | 'verify' | 'live' | 'ready'

/**
 * What one request got: an HTTP status, or (status 0) no answer at all —
 * `hang` when the client gave up waiting, `network` when the connection
 * failed.
 */
export type Outcome = {
  kind: Kind
  status: number
  ms: number
  startedAt: number
  endedAt: number
  code?: string
  retryAfter?: string | null
  failure?: 'hang' | 'network'
  detail?: string
  body?: any
}

/**
 * fetch against the service with a hard deadline per request: a request
 * that has not been answered within `budgetMs` is aborted and recorded as
 * a hang. Every request of the suite goes through here and is kept.
 */
export class Api {
  outcomes: Outcome[] = []

  constructor(
    readonly url: string,
    readonly budgetMs: number
  ) {}

  async call(
    kind: Kind,
    method: string,
    path: string,
    options: { body?: unknown; token?: string } = {}
  ): Promise<Outcome> {
    const startedAt = Date.now()
    const started = performance.now()
    const outcome: Outcome = { kind, status: 0, ms: 0, startedAt, endedAt: 0 }
    const headers: Record<string, string> = { accept: 'application/json' }
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    if (options.token) headers.authorization = `Bearer ${options.token}`
    try {
      const response = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.budgetMs),
      })
      const text = await response.text()
      outcome.status = response.status
      outcome.retryAfter = response.headers.get('retry-after')
      try {
        outcome.body = JSON.parse(text)
        outcome.code = outcome.body?.errors?.[0]?.code
      } catch {
        outcome.detail = text.slice(0, 200)
      }
    } catch (error) {
      const name = (error as Error).name
      outcome.failure = name === 'TimeoutError' || name === 'AbortError' ? 'hang' : 'network'
      outcome.detail = String((error as any).cause?.code ?? (error as Error).message)
    }
    outcome.ms = Math.round(performance.now() - started)
    outcome.endedAt = Date.now()
    this.outcomes.push(outcome)
    return outcome
  }
}

/**
 * The id inside a token string: `<prefix><base64url(id)>.<secret>`.
 */
export function tokenId(value: string) {
  const body = value.slice(4)
  return Buffer.from(body.slice(0, body.indexOf('.')), 'base64url').toString('utf8')
}

export function newPassword() {
  return `Fault-${randomBytes(12).toString('base64url')}`
}

export type Session = { id: string; value: string; issuedAt: number }
export type ResetAttempt = { password: string; startedAt: number; status: number; detail?: string }
export type Link = { value: string; id: string; attempts: ResetAttempt[] }

/**
 * A user of the load and what the suite believes about it: its password,
 * the sessions that must exist, those a reset must have revoked, the reset
 * link in hand and the attempts made with it. Each user is driven by one
 * worker at a time, so its requests never overlap and every belief can be
 * checked against the database afterwards.
 */
export class LoadUser {
  sessions: Session[] = []
  revoked: Session[] = []
  consumedLinks: string[] = []
  link?: Link
  resetMailsSeen = 0
  awaitingMailSince?: number
  /**
   * The id of a link in hand the service refused (400) before any attempt
   * with it had failed: a reset-link job ran again and superseded it (F6),
   * so a newer link must come by mail (awaited like a forgot's) and be
   * stored with a higher id.
   */
  supersededLink?: string
  /** Set when the service answered as if a failed reset had happened. */
  suspect?: string
  /** Set after an anomaly: left out of the load until the next integrity check. */
  paused?: boolean
  /** Set when the integrity check could not reconcile the user: left out from then on. */
  retired?: string
  resets = 0
  /** Every password this user was given or tried, oldest first. */
  passwords: Array<{ password: string; what: string }> = []
  /** The user's last requests, for evidence. */
  history: string[] = []

  constructor(
    readonly id: number,
    readonly email: string,
    public password: string
  ) {
    this.passwords.push({ password, what: 'the password set at sign-up' })
  }

  get active() {
    return !this.suspect && !this.retired && !this.paused
  }

  record(outcome: Outcome, note = '') {
    const answer = outcome.failure ? `${outcome.failure} ${outcome.detail}` : outcome.status
    const line = `${new Date(outcome.startedAt).toISOString().slice(11, 23)} ${outcome.kind} → ${answer}${outcome.code ? ` ${outcome.code}` : ''} in ${outcome.ms} ms${note ? ` ${note}` : ''}`
    this.history.push(line)
    if (this.history.length > 60) this.history.shift()
  }
}

export type Anomaly = { at: number; email: string; text: string }

export type LoadOptions = {
  workers: number
  /** Bounds of one run: total requests and wall time. */
  maxRequests: number
  maxMs: number
  /** forgot + reset flows (off in the mail tests, which send their own). */
  resets: boolean
}

const RESET_SUBJECT = /Reset your password/
const MAIL_WAIT_MS = 15_000

/**
 * A bounded mixed load: sign-ins, wrong-password guesses, GET /me with
 * issued tokens, forgot-password requests and resets through the links the
 * SMTP sink receives. Unexpected answers (a correct password refused, a
 * live token refused, a guess accepted) are kept as anomalies.
 */
export class LoadDriver {
  anomalies: Anomaly[] = []
  missingMail: Anomaly[] = []
  /**
   * Whether a job may run again and supersede a link already mailed: only
   * when a process died holding it (F5). Otherwise the worker records its
   * job done however long the database is away, and a superseded link in
   * hand is a failure.
   */
  supersedingExpected = false
  #stopping = false
  #workers: Promise<void>[] = []
  #inFlight = new Map<Kind, number>()

  constructor(
    private api: Api,
    private mailbox: Mailbox,
    readonly users: LoadUser[],
    private options: LoadOptions
  ) {}

  start() {
    this.#stopping = false
    const deadline = Date.now() + this.options.maxMs
    let left = this.options.maxRequests
    const allowed = () => !this.#stopping && Date.now() < deadline && left-- > 0
    const groups = Array.from({ length: this.options.workers }, (_, index) =>
      this.users.filter((__, position) => position % this.options.workers === index)
    )
    this.#workers = groups.map((group) => this.#work(group, allowed))
  }

  async stop() {
    this.#stopping = true
    await Promise.all(this.#workers)
  }

  get resetsEnabled() {
    return this.options.resets
  }

  inFlight(kind: Kind) {
    return this.#inFlight.get(kind) ?? 0
  }

  /**
   * Asks a reset link for every user without one and waits (bounded) for
   * the mails, so that resets are in the load when a fault starts.
   */
  async armLinks(timeoutMs = 10_000) {
    if (!this.options.resets) return
    const idle = this.users.filter((user) => user.active && !user.link)
    await Promise.all(
      idle.map(async (user) => {
        this.#collectMail(user)
        if (!user.awaitingMailSince && !user.link) await this.#forgot(user)
      })
    )
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      for (const user of this.users) this.#collectMail(user)
      if (this.users.every((user) => !user.active || !user.awaitingMailSince)) return
      await sleep(50)
    }
  }

  async #work(users: LoadUser[], allowed: () => boolean) {
    for (let turn = 0; allowed(); turn++) {
      const active = users.filter((user) => user.active)
      if (active.length === 0) return
      const outcome = await this.#step(active[turn % active.length])
      // back off a little when refused (503) or not answered at all (the
      // service is gone), instead of spinning
      const pause = outcome?.status === 0 ? 200 : outcome?.status === 503 ? 50 : randomInt(5, 30)
      await sleep(pause)
    }
  }

  async #step(user: LoadUser): Promise<Outcome | undefined> {
    this.#collectMail(user)
    const roll = Math.random()
    if (this.options.resets && user.link && roll < 0.35) return this.#reset(user)
    if (this.options.resets && !user.link && !user.awaitingMailSince && roll < 0.3) {
      return this.#forgot(user)
    }
    if (roll > 0.95) return this.#guess(user)
    if (user.sessions.length > 0 && roll > 0.4) return this.#me(user)
    return this.#signin(user)
  }

  async #track(kind: Kind, request: () => Promise<Outcome>) {
    this.#inFlight.set(kind, this.inFlight(kind) + 1)
    try {
      return await request()
    } finally {
      this.#inFlight.set(kind, this.inFlight(kind) - 1)
    }
  }

  #anomaly(user: LoadUser, text: string) {
    this.anomalies.push({ at: Date.now(), email: user.email, text })
    user.paused = true
  }

  /**
   * True when a refusal can be explained by an earlier reset attempt that
   * answered an error yet may have been applied: the user is set aside
   * and the integrity check decides.
   */
  #explainedByFailedReset(user: LoadUser, what: string) {
    if (!user.link?.attempts.length) return false
    user.suspect = what
    return true
  }

  async #signin(user: LoadUser) {
    const outcome = await this.#track('signin', () =>
      this.api.call('signin', 'POST', '/api/v1/auth/signin', {
        body: { email: user.email, password: user.password },
      })
    )
    if (outcome.status === 200) {
      const value = String(outcome.body?.data?.token)
      user.sessions.push({ id: tokenId(value), value, issuedAt: outcome.endedAt })
      user.record(outcome, `token ${tokenId(value)}`)
    } else {
      user.record(outcome)
    }
    if (outcome.status >= 400 && outcome.status < 500) {
      const what = `sign-in with the current password answered ${outcome.status} ${outcome.code}`
      if (!this.#explainedByFailedReset(user, what)) this.#anomaly(user, what)
    }
    return outcome
  }

  async #guess(user: LoadUser) {
    const outcome = await this.#track('guess', () =>
      this.api.call('guess', 'POST', '/api/v1/auth/signin', {
        body: { email: user.email, password: `wrong ${randomBytes(6).toString('hex')}` },
      })
    )
    user.record(outcome)
    if (outcome.status === 200) this.#anomaly(user, 'a wrong password signed in')
    if (outcome.status !== 400 && outcome.status < 500 && outcome.status !== 0) {
      this.#anomaly(user, `a wrong password answered ${outcome.status} ${outcome.code}`)
    }
    return outcome
  }

  async #me(user: LoadUser) {
    const session = user.sessions[randomInt(user.sessions.length)]
    const outcome = await this.#track('me', () =>
      this.api.call('me', 'GET', '/api/v1/me', { token: session.value })
    )
    user.record(outcome, `token ${session.id}`)
    if (outcome.status === 200 && outcome.body?.data?.id !== user.id) {
      this.#anomaly(user, `GET /me answered another user (${outcome.body?.data?.id})`)
    } else if (outcome.status >= 400 && outcome.status < 500) {
      const what = `GET /me with a live session (token ${session.id}) answered ${outcome.status} ${outcome.code}`
      if (!this.#explainedByFailedReset(user, what)) this.#anomaly(user, what)
    }
    return outcome
  }

  async #forgot(user: LoadUser) {
    const outcome = await this.#track('forgot', () =>
      this.api.call('forgot', 'POST', '/api/v1/auth/password/forgot', {
        body: { email: user.email },
      })
    )
    user.record(outcome)
    if (outcome.status === 202) user.awaitingMailSince = Date.now()
    else if (outcome.status !== 0 && outcome.status < 500) {
      this.#anomaly(user, `forgot answered ${outcome.status} ${outcome.code}`)
    }
    return outcome
  }

  async #reset(user: LoadUser) {
    const link = user.link!
    const password = newPassword()
    const tag = `#${user.passwords.length}`
    user.passwords.push({
      password,
      what: `the password of reset attempt ${tag} (link ${link.id})`,
    })
    const outcome = await this.#track('reset', () =>
      this.api.call('reset', 'POST', '/api/v1/auth/password/reset', {
        body: { token: link.value, password },
      })
    )
    user.record(outcome, `attempt ${tag} with link ${link.id}`)
    if (outcome.status === 200) {
      user.password = password
      user.revoked.push(...user.sessions)
      user.sessions = []
      user.consumedLinks.push(link.id)
      user.link = undefined
      user.resets++
      return outcome
    }
    if (outcome.status >= 500 || outcome.status === 0) {
      link.attempts.push({
        password,
        startedAt: outcome.startedAt,
        status: outcome.status,
        detail: outcome.code ?? outcome.failure,
      })
      return outcome
    }
    if (outcome.status === 400 && link.attempts.length === 0 && this.supersedingExpected) {
      this.#awaitSupersedingLink(user, link)
      return outcome
    }
    const what = `reset with a link in hand answered ${outcome.status} ${outcome.code}`
    if (!this.#explainedByFailedReset(user, what)) {
      this.#anomaly(user, what)
      user.link = undefined
    }
    return outcome
  }

  /**
   * Picks up every reset link that arrived since the last look (see
   * `#collectMail`), for the integrity check.
   */
  collectRedeliveries() {
    for (const user of this.users) this.#collectMail(user)
  }

  /**
   * Picks up the newest reset link mailed to the user, if one came since
   * the last; gives up waiting after a while (the mail tests expect that).
   *
   * A reset mail that comes unasked is a redelivery (SECURITY.md F6): mail
   * jobs run at least once, and one whose process died after its mail left
   * runs again and mails a newer link, which supersedes the one in hand.
   * It is taken as the link in hand unless that one has attempts whose
   * outcome is still open.
   */
  #collectMail(user: LoadUser) {
    const mails = this.mailbox.to(user.email).filter((mail) => RESET_SUBJECT.test(mail.subject))
    if (!user.awaitingMailSince) {
      if (mails.length > user.resetMailsSeen && !user.link?.attempts.length) {
        user.resetMailsSeen = mails.length
        this.#adopt(user, mails[mails.length - 1].text, 'redelivered')
      }
      return
    }
    if (mails.length > user.resetMailsSeen) {
      user.resetMailsSeen = mails.length
      user.awaitingMailSince = undefined
      const superseded = user.supersededLink
      user.supersededLink = undefined
      this.#adopt(user, mails[mails.length - 1].text)
      if (superseded && user.link && BigInt(user.link.id) <= BigInt(superseded)) {
        this.#anomaly(
          user,
          `reset link ${superseded} was refused, and the next mail brought an older link ${user.link.id}`
        )
      }
    } else if (Date.now() - user.awaitingMailSince > MAIL_WAIT_MS) {
      this.missingMail.push({
        at: Date.now(),
        email: user.email,
        text: user.supersededLink
          ? `reset link ${user.supersededLink} was refused (400), and no newer link came by mail`
          : 'a 202 forgot-password request never brought a reset mail',
      })
      user.awaitingMailSince = undefined
      user.supersededLink = undefined
    }
  }

  /**
   * A link in hand refused with no failed attempt behind it: a rerun of a
   * reset-link job (its process killed after issuing, before its mail was
   * marked sent) has superseded it, and its mail may still be to come —
   * after the job's claim lapses (JOB_TIMEOUT or JOB_HEARTBEAT, whichever
   * comes first) and its retry runs. The
   * user waits for that mail like a forgot's (`MAIL_WAIT_MS`); the link it
   * brings must be newer. The integrity check makes sure a newer token was
   * stored if the mail has not come by then.
   */
  #awaitSupersedingLink(user: LoadUser, link: Link) {
    user.supersededLink = link.id
    user.link = undefined
    user.awaitingMailSince = Date.now()
    user.history.push(
      `${new Date().toISOString().slice(11, 23)} link ${link.id} refused: awaiting the newer link that superseded it`
    )
  }

  #adopt(user: LoadUser, text: string, note?: string) {
    const token = /token=(prt_[A-Za-z0-9_.-]+)/.exec(text)?.[1]
    if (!token) return
    user.link = { value: token, id: tokenId(token), attempts: [] }
    user.history.push(
      `${new Date().toISOString().slice(11, 23)} mail: reset link ${user.link.id}${note ? ` (${note})` : ''}`
    )
  }
}
