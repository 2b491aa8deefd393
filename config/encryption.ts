import env from '#start/env'
import { defineConfig, drivers } from '@adonisjs/core/encryption'

/**
 * Tessera encrypts nothing itself; the framework expects an encrypter
 * (signed cookies, message verifier), keyed by APP_KEY.
 */
const encryptionConfig = defineConfig({
  default: 'gcm',
  list: {
    gcm: drivers.aes256gcm({
      id: 'gcm',
      keys: [env.get('APP_KEY')],
    }),
  },
})

export default encryptionConfig
