/*
|--------------------------------------------------------------------------
| Raw argon2.verify throughput (P5's denominator)
|--------------------------------------------------------------------------
|
| `node bench/argon2_verify.ts '{"memoryKib":…,"iterations":…,
| "parallelism":…,"concurrency":…,"seconds":…}'` verifies one argon2id hash
| with the `argon2` package, `concurrency` at a time (the server's
| HASH_CONCURRENCY), for `seconds`, and prints verifications per second.
|
*/

import argon2 from 'argon2'

const options = JSON.parse(process.argv[2]) as {
  memoryKib: number
  iterations: number
  parallelism: number
  concurrency: number
  seconds: number
}
const password = 'bench: correct horse battery staple'
const hash = await argon2.hash(password, {
  type: argon2.argon2id,
  memoryCost: options.memoryKib,
  timeCost: options.iterations,
  parallelism: options.parallelism,
  hashLength: 32,
})

let verified = 0
const started = performance.now()
const deadline = started + options.seconds * 1000
await Promise.all(
  Array.from({ length: options.concurrency }, async () => {
    while (performance.now() < deadline) {
      if (!(await argon2.verify(hash, password))) throw new Error('argon2.verify failed')
      verified++
    }
  })
)
const seconds = (performance.now() - started) / 1000
process.stdout.write(`${JSON.stringify({ verified, seconds, perSecond: verified / seconds })}\n`)
