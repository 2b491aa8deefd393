/*
|--------------------------------------------------------------------------
| Routes
|--------------------------------------------------------------------------
|
| The HTTP contract is ../shared/API.md; everything lives under /api/v1
| except the health checks.
|
*/

import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'
import { ROW_ID } from '#modules/tokens/token_format'

const HealthController = () => import('#controllers/health_controller')
const MetricsController = () => import('#controllers/metrics_controller')
const NewAccountController = () => import('#controllers/new_account_controller')
const AccessTokenController = () => import('#controllers/access_token_controller')
const EmailVerificationController = () => import('#controllers/email_verification_controller')
const PasswordResetController = () => import('#controllers/password_reset_controller')
const ProfileController = () => import('#controllers/profile_controller')
const PasswordController = () => import('#controllers/password_controller')
const SessionController = () => import('#controllers/session_controller')
const AdminUserController = () => import('#controllers/admin/user_controller')
const AdminUserRoleController = () => import('#controllers/admin/user_role_controller')
const AdminUserSessionController = () => import('#controllers/admin/user_session_controller')

router.get('/health/live', [HealthController, 'live'])
router.get('/health/ready', [HealthController, 'ready'])
router.get('/metrics', [MetricsController, 'show'])

router
  .group(() => {
    /**
     * Public
     */
    router
      .group(() => {
        router.post('signup', [NewAccountController, 'store'])
        router.post('signin', [AccessTokenController, 'store'])
        router.post('email/verify', [EmailVerificationController, 'store'])
        router.post('email/resend', [EmailVerificationController, 'resend'])
        router.post('password/forgot', [PasswordResetController, 'create'])
        router.post('password/reset', [PasswordResetController, 'store'])
      })
      .prefix('auth')

    /**
     * Signed in
     */
    router
      .group(() => {
        router.post('auth/signout', [AccessTokenController, 'destroy'])
        router.get('me', [ProfileController, 'show'])
        router.patch('me', [ProfileController, 'update'])
        router.put('me/password', [PasswordController, 'update'])
        router.get('me/sessions', [SessionController, 'index'])
        router.delete('me/sessions/:id', [SessionController, 'destroy']).where('id', ROW_ID)
        router.delete('me/sessions', [SessionController, 'destroyOthers'])
      })
      .use(middleware.auth())

    /**
     * Admin
     */
    router
      .group(() => {
        router.get('users', [AdminUserController, 'index'])
        router.put('users/:id/roles', [AdminUserRoleController, 'update']).where('id', ROW_ID)
        router
          .delete('users/:id/sessions', [AdminUserSessionController, 'destroy'])
          .where('id', ROW_ID)
      })
      .prefix('admin')
      .as('admin')
      .use(middleware.auth({ roles: ['admin'] }))
  })
  .prefix('/api/v1')
