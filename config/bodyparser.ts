import { defineConfig } from '@adonisjs/core/bodyparser'

/**
 * JSON only, small bodies: any other body is refused with 415 before it
 * gets here (app/middleware/json_body_middleware.ts), and the other parsers
 * are given no types, so nothing but JSON is ever parsed. Strings are kept exactly as sent: trimming would
 * change passwords (SECURITY.md A5), so each validator trims the fields that
 * should be trimmed (emails, names) itself.
 */
const bodyParserConfig = defineConfig({
  allowedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  json: {
    encoding: 'utf-8',
    limit: '64kb',
    strict: true,
    convertEmptyStringsToNull: false,
    trimWhitespaces: false,
    types: ['application/json'],
  },
  form: {
    encoding: 'utf-8',
    limit: '64kb',
    queryString: {},
    convertEmptyStringsToNull: false,
    trimWhitespaces: false,
    types: [],
  },
  raw: {
    encoding: 'utf-8',
    limit: '64kb',
    types: [],
  },
  multipart: {
    autoProcess: false,
    convertEmptyStringsToNull: false,
    trimWhitespaces: false,
    processManually: [],
    limit: '64kb',
    types: [],
  },
})

export default bodyParserConfig
