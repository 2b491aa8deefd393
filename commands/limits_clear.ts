import { isIP } from 'node:net'
import { BaseCommand, args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { emailOnlyValidator } from '#validators/account_validator'
import { validateForCommand } from '#services/operator_input'

/**
 * Lifts the rate limits on an email or a client address, for support staff
 * unblocking someone who used up a budget (three mails an hour, ten
 * sign-in attempts in 15 minutes) and would otherwise wait for the block to
 * end. Clears the buckets `app/services/rate_limits.ts` counts, in the
 * configured store: per email, per address (an IPv6 address stands for its
 * /64), and the per-address-and-email sign-in bucket when both are given.
 */
export default class LimitsClear extends BaseCommand {
  static commandName = 'limits:clear'
  static description =
    'Clear the rate limits of emails and/or client IP addresses (give both to clear their pair too)'
  static options: CommandOptions = { startApp: true }

  @args.spread({ description: 'Email addresses and IP addresses, in any order' })
  declare targets: string[]

  async run() {
    const { default: limiter } = await import('@adonisjs/limiter/services/main')
    const { clearLimits } = await import('#services/rate_limits')
    if (limiter.config.default === 'memory') {
      this.logger.error(
        'LIMITER_STORE=memory keeps counters inside each server process, out of reach of a command: restart the server to clear them'
      )
      this.exitCode = 1
      return
    }

    const emails: string[] = []
    const ips: string[] = []
    for (const target of this.targets) {
      if (isIP(target)) {
        ips.push(target)
        continue
      }
      const input = await validateForCommand(this, emailOnlyValidator, { email: target })
      if (!input) {
        this.logger.error(`"${target}" is neither an IP address nor a valid email; nothing cleared`)
        return
      }
      emails.push(input.email)
    }

    await clearLimits({ emails, ips })
    for (const email of emails) this.logger.success(`Cleared the limits of ${email}`)
    for (const ip of ips) this.logger.success(`Cleared the limits of ${ip}`)
    if (emails.length > 0 && ips.length > 0) {
      this.logger.success('Cleared the sign-in limit of each address and email pair')
    }
  }
}
