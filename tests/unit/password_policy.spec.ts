import { test } from '@japa/runner'
import { isCommonPassword } from '#services/password_policy'

test.group('Accounts | password policy', () => {
  test('flags passwords from the common-password list', ({ assert }) => {
    for (const password of ['password1', 'qwertyuiop', 'password', '123456', 'iloveyou']) {
      assert.isTrue(isCommonPassword(password), password)
    }
  })

  test('flags common passwords whatever their case', ({ assert }) => {
    for (const password of ['PASSWORD1', 'Password1', 'QwErTyUiOp', 'QWERTYUIOP']) {
      assert.isTrue(isCommonPassword(password), password)
    }
  })

  test('accepts a long random passphrase', ({ assert }) => {
    assert.isFalse(isCommonPassword('violet tractor whispers under 7 frozen lanterns'))
    assert.isFalse(isCommonPassword('Xq7#vLr2!pWz9@Kd'))
  })
})
