import { ConflictError } from '../../core/errors/app-error';

export class EmailTakenError extends ConflictError {
  constructor() {
    super('This email is already registered', { email: ['email is already registered'] });
  }
}
