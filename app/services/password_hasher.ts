import { Argon } from '@adonisjs/core/hash/drivers/argon'
import settings from '#config/setting'
import BoundedHasher from '#services/bounded_hasher'

/**
 * The one password hasher of the process: argon2id at (no less than)
 * OWASP's parameters, behind the concurrency bound of `settings.hashing`
 * (see BoundedHasher). config/hash.ts makes it the `hash` service's driver;
 * its `operations` counter is what tests (and, later, metrics) read to see
 * how much hashing a request caused.
 */
const passwordHasher = new BoundedHasher(
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

export default passwordHasher
