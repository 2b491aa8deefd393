import { defineConfig } from '@adonisjs/core/hash'
import { Argon } from '@adonisjs/core/hash/drivers/argon'
import settings from '#config/setting'
import BoundedHasher from '#services/bounded_hasher'

/**
 * argon2id at (no less than) OWASP's parameters, behind a concurrency bound
 * (see BoundedHasher and `settings.hashing`).
 */
export const boundedArgon = new BoundedHasher(
  new Argon({
    variant: 'id',
    iterations: settings.hashing.iterations,
    memory: settings.hashing.memoryKib,
    parallelism: settings.hashing.parallelism,
    saltSize: 16,
    hashLength: 32,
  }),
  settings.hashing.concurrency,
  settings.hashing.queueLimit
)

const hashConfig = defineConfig({
  default: 'argon',
  list: {
    argon: () => boundedArgon,
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
