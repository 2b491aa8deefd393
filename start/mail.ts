/*
|--------------------------------------------------------------------------
| Mail delivery
|--------------------------------------------------------------------------
|
| `mail.sendLater()` hands messages to the RetryingMessenger: delivered off
| the request path, retried on failure, logged when lost.
|
*/

import mail from '@adonisjs/mail/services/main'
import logger from '@adonisjs/core/services/logger'
import RetryingMessenger from '#services/retrying_messenger'

mail.setMessenger((mailer) => new RetryingMessenger(mailer, logger))
