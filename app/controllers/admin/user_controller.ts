import type { HttpContext } from '@adonisjs/core/http'
import User from '#models/user'
import { listUsersValidator } from '#validators/admin_validator'

/**
 * Admin: the list of accounts, searchable by email or name.
 */
export default class UserController {
  async index({ request }: HttpContext) {
    const {
      page = 1,
      perPage = 20,
      q,
    } = await request.validateUsing(listUsersValidator, {
      data: request.qs(),
    })
    const query = User.query().orderBy('id', 'asc')
    if (q) {
      const pattern = `%${q.replace(/[\\%_]/g, (char) => `\\${char}`)}%`
      query.where((search) => search.whereILike('email', pattern).orWhereILike('name', pattern))
    }
    const result = await query.paginate(page, perPage)
    return {
      data: result.all().map((user) => user.serializeForApi()),
      meta: { total: result.total, page: result.currentPage, perPage: result.perPage },
    }
  }
}
