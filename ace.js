/*
|--------------------------------------------------------------------------
| JavaScript entrypoint for running ace commands
|--------------------------------------------------------------------------
|
| ts-exec compiles TypeScript on the fly (decorators included), so the
| commands run from source without a build step.
|
*/

import '@poppinss/ts-exec'

await import('./bin/console.js')
