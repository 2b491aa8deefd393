import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { buildIsStale, serverEnv } from '../../bin/server_process.ts'

/**
 * When `npm start` and `npm run bench` recompile the server
 * (bin/server_process.ts), on a project tree made up for the test.
 */
test.group('Server process | build', (group) => {
  let root: string
  const past = new Date(Date.now() - 60_000)

  group.each.setup(async () => {
    root = await mkdtemp(join(app.makePath('tmp'), 'build-'))
    await mkdir(join(root, 'app/models'), { recursive: true })
    await mkdir(join(root, 'build/bin'), { recursive: true })
    await writeFile(join(root, 'app/models/user.ts'), 'export {}\n')
    await writeFile(join(root, 'package.json'), '{}\n')
    for (const path of ['app/models/user.ts', 'app/models', 'app', 'package.json']) {
      await utimes(join(root, path), past, past)
    }
    await writeFile(join(root, 'build/bin/server.js'), '\n')
    await writeFile(join(root, 'build/.tessera-build'), '\n')
    const built = new Date(past.getTime() + 30_000)
    await utimes(join(root, 'build/.tessera-build'), built, built)
    return () => rm(root, { recursive: true, force: true })
  })

  test('a build newer than every source is used as it is', ({ assert }) => {
    assert.isFalse(buildIsStale(root))
  })

  test('a source changed after the build makes it stale', async ({ assert }) => {
    await writeFile(join(root, 'app/models/user.ts'), 'export const changed = true\n')
    assert.isTrue(buildIsStale(root))
  })

  test('a new source file makes it stale', async ({ assert }) => {
    await writeFile(join(root, 'app/models/token.ts'), 'export {}\n')
    assert.isTrue(buildIsStale(root))
  })

  test('a changed package.json makes it stale', async ({ assert }) => {
    await writeFile(join(root, 'package.json'), '{ "name": "x" }\n')
    assert.isTrue(buildIsStale(root))
  })

  test('a build without its stamp or its entry point is stale', async ({ assert }) => {
    await rm(join(root, 'build/.tessera-build'))
    assert.isTrue(buildIsStale(root))
    await writeFile(join(root, 'build/.tessera-build'), '\n')
    await rm(join(root, 'build/bin/server.js'))
    assert.isTrue(buildIsStale(root))
  })

  test('the server finds the project’s .env from build/', ({ assert }) => {
    assert.equal(serverEnv('/srv/tessera', {}).ENV_PATH, '/srv/tessera')
    assert.equal(serverEnv('/srv/tessera', { ENV_PATH: 'conf' }).ENV_PATH, '/srv/tessera/conf')
    assert.equal(serverEnv('/srv/tessera', { ENV_PATH: '/etc/tessera' }).ENV_PATH, '/etc/tessera')
    assert.equal(serverEnv('/srv/tessera', {}).MALLOC_ARENA_MAX, '1')
    assert.equal(serverEnv('/srv/tessera', { MALLOC_ARENA_MAX: '2' }).MALLOC_ARENA_MAX, '2')
  })
})
