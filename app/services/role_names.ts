/**
 * What a role name may be: a lowercase letter, then at most 31 lowercase
 * letters, digits, "_" or "-". The one rule for role names wherever they
 * are read: the admin API and `user:roles`/`user:create` (through
 * app/validators/admin_validator.ts) and `SESSION_LIMIT_BY_ROLE`
 * (config/setting.ts). A leaf module, so configuration can import it.
 */
export const ROLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/
