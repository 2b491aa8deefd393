import { defineConfig } from '@adonisjs/core/hash'
import passwordHasher from '#services/password_hasher'

/**
 * One hasher, argon2id behind a concurrency bound (app/services/
 * password_hasher.ts, where its parameters come from `settings.hashing`).
 */
const hashConfig = defineConfig({
  default: 'argon',
  list: {
    argon: () => passwordHasher,
  },
})

export default hashConfig

/**
 * Inferring types for the list of hashers you have configured
 * in your application.
 */
declare module '@adonisjs/core/types' {
  export interface HashersList extends InferHashers<typeof hashConfig> {}
}
