import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Every token the service issues, one row each, distinguished by `type`.
 * Columns follow the @adonisjs/auth access-token contract so the stock
 * provider can read the table too. Only a SHA-256 of the secret is stored.
 */
export default class extends BaseSchema {
  protected tableName = 'tokens'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      table.bigIncrements('id')
      table
        .bigInteger('tokenable_id')
        .notNullable()
        .references('id')
        .inTable('users')
        .onDelete('CASCADE')
      table.string('type', 32).notNullable()
      table.string('name', 100).nullable()
      table.string('hash', 64).notNullable()
      table.text('abilities').notNullable().defaultTo('["*"]')
      table.timestamp('created_at', { useTz: true }).notNullable()
      table.timestamp('updated_at', { useTz: true }).notNullable()
      table.timestamp('last_used_at', { useTz: true }).nullable()
      table.timestamp('expires_at', { useTz: true }).nullable()

      table.check(
        `type in ('access', 'email_verification', 'password_reset')`,
        [],
        'tokens_type_check'
      )
      /**
       * Session lists, the session cap (newest first) and "revoke all of a
       * type" all filter by user and type; verification looks up by id.
       */
      table.index(['tokenable_id', 'type', 'created_at'], 'tokens_user_type_created_index')
      table.index(['expires_at'], 'tokens_expires_at_index')
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
