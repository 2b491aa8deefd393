import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * The sign-up claim a verification token activates (SECURITY.md A7): the
 * password hash and name submitted with the sign-up that issued the link.
 * Following the link makes exactly these the account's, and discards what
 * any other sign-up set. A token with no claim (one from "resend") proves
 * the mailbox only: the account's password is discarded and the owner
 * chooses a new one. Only verification tokens carry a claim.
 */
export default class extends BaseSchema {
  protected tableName = 'tokens'

  async up() {
    this.schema.alterTable(this.tableName, (table) => {
      table.jsonb('claim').nullable()
      table.check(`claim is null or type = 'email_verification'`, [], 'tokens_claim_check')
    })
  }

  async down() {
    this.schema.alterTable(this.tableName, (table) => {
      table.dropChecks(['tokens_claim_check'])
      table.dropColumn('claim')
    })
  }
}
