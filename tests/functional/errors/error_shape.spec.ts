import { test } from '@japa/runner'
import { HttpContextFactory } from '@adonisjs/core/factories/http'
import HttpExceptionHandler from '#exceptions/handler'

test.group('Errors | one JSON shape', () => {
  test('an unknown route answers 404 E_ROUTE_NOT_FOUND as JSON whatever Accept says', async ({
    client,
  }) => {
    const response = await client.get('/api/v1/nowhere').header('accept', 'text/html')
    response.assertStatus(404)
    response.assertHeader('content-type', 'application/json; charset=utf-8')
    response.assertBody({ errors: [{ code: 'E_ROUTE_NOT_FOUND', message: 'Route not found' }] })
  })

  test('a body over the limit answers 413 E_REQUEST_ENTITY_TOO_LARGE', async ({ client }) => {
    const response = await client
      .post('/api/v1/auth/signin')
      .unsafeJson(JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(1024 * 1024) }))
    response.assertStatus(413)
    response.assertBodyContains({ errors: [{ code: 'E_REQUEST_ENTITY_TOO_LARGE' }] })
  })

  test('malformed JSON answers 400 without echoing the body', async ({ client, assert }) => {
    const response = await client
      .post('/api/v1/auth/signin')
      .unsafeJson('{"email": "a@example.com", "password": "hunter2-secret"')
    response.assertStatus(400)
    response.assertBody({
      errors: [{ code: 'E_BAD_REQUEST', message: 'The request body is not valid JSON' }],
    })
    assert.notInclude(JSON.stringify(response.body()), 'hunter2')
  })

  test('an unexpected error answers 500 E_INTERNAL_SERVER_ERROR with a generic message', async ({
    assert,
  }) => {
    const ctx = new HttpContextFactory().create()
    const error = new Error('select * from users where password = $1 - boom')
    await new HttpExceptionHandler().handle(error, ctx)
    ctx.response.finish()
    assert.equal(ctx.response.getStatus(), 500)
    assert.deepEqual(ctx.response.getBody(), {
      errors: [{ code: 'E_INTERNAL_SERVER_ERROR', message: 'Something went wrong on our side' }],
    })
  })
})
