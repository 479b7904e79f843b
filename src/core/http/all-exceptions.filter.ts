import { ArgumentsHost, Catch, ExceptionFilter, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppError, RouteNotFoundError } from '../errors/app-error';
import { describeDriverError, isDriverError } from '../errors/driver-errors';
import { toAppError } from '../errors/to-app-error';
import { sendErrorEnvelope } from './error-reply';

/**
 * The one place errors become responses: AppErrors as they are, Nest and Fastify errors and
 * driver errors by mapping, anything else as a generic 500 whose stack is logged, never sent.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = this.map(exception, request);
    this.log(request.log as Logger, exception, error);
    if (reply.sent) return;
    sendErrorEnvelope(request, reply, error);
  }

  private map(exception: unknown, request: FastifyRequest): AppError {
    // Nest answers an unmatched route with a NotFoundException; a matched route has a url template
    if (exception instanceof NotFoundException && !request.routeOptions?.url) {
      return new RouteNotFoundError(request.method, request.url.split('?')[0] ?? request.url);
    }
    return toAppError(exception);
  }

  private log(log: Logger, exception: unknown, error: AppError): void {
    if (error.status < 500) {
      log.debug({ code: error.code, status: error.status }, error.message);
      return;
    }
    const err = isDriverError(exception) ? describeDriverError(exception) : exception;
    if (error.status === 503) {
      log.warn({ code: error.code, status: error.status, err }, 'dependency unavailable');
    } else {
      log.error({ code: error.code, status: error.status, err }, 'unhandled error');
    }
  }
}
