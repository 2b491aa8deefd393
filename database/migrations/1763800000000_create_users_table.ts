import { BaseSchema } from '@adonisjs/lucid/schema'

export default class extends BaseSchema {
  protected tableName = 'users'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      table.bigIncrements('id')
      /**
       * Canonical form only (see app/services/email.ts), so one address is
       * one account whatever case or look-alike characters were typed.
       */
      table.string('email', 254).notNullable().unique()
      table.string('name', 100).nullable()
      table.string('password', 255).notNullable()
      table.specificType('roles', 'text[]').notNullable().defaultTo(this.raw(`'{user}'`))
      table.timestamp('email_verified_at', { useTz: true }).nullable()
      table.timestamp('created_at', { useTz: true }).notNullable()
      table.timestamp('updated_at', { useTz: true }).notNullable()
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
