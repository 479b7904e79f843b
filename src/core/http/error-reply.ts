import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error';
import { errorEnvelope } from './envelope';

/** Answers with the error envelope: the one shape of every refusal, whoever refuses. */
export function sendErrorEnvelope(request: FastifyRequest, reply: FastifyReply, error: AppError): void {
  if (error.headers) void reply.headers(error.headers);
  void reply.status(error.status).type('application/json; charset=utf-8').send(errorEnvelope(error, request.id));
}
