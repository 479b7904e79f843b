// The framework floor: a minimal Nest 12 + Fastify app doing the benchmarked routes' work with
// the app's own global envelope interceptor (APP_INTERCEPTOR, imported from the build) and one
// global guard (APP_GUARD): the HS256 token verified with node:crypto and the caller read from
// the cache in one GET (the database on a miss), its token version checked. What the app costs
// above this is its own code, not the framework's. Plain JavaScript, decorators applied by
// calling them, so it needs no build of its own.
import 'reflect-metadata';
import { Catch, Controller, Get, Inject, Injectable, Module, Param, Req, SetMetadata } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  accessTokenVerifier,
  applyEdgeHeaders,
  authenticate,
  errorBody,
  loadUser,
  openCache,
  openDatabase,
  requestIdOf,
  requireBuilt,
  toUserResponse,
  UUID,
} from './common.mjs';

const { EnvelopeInterceptor } = requireBuilt('core/http/envelope.interceptor.js');

const STORE = 'bench:store';
const PUBLIC = 'bench:public';

class HttpRefusal extends Error {
  constructor(status, code, message, details) {
    super(message);
    Object.assign(this, { status, code, details });
  }
}

/** Verifies the bearer token and the caller's token version; `@Public` handlers skip it (read once per handler). */
class AuthGuard {
  constructor(store) {
    this.store = store;
    this.verify = accessTokenVerifier(process.env.JWT_ACCESS_SECRET);
    this.publicHandlers = new WeakMap();
  }

  /** Synchronous for public handlers: no promise where nothing is awaited. */
  canActivate(context) {
    const handler = context.getHandler();
    let open = this.publicHandlers.get(handler);
    if (open === undefined) this.publicHandlers.set(handler, (open = Reflect.getMetadata(PUBLIC, handler) === true));
    return open || this.authenticate(context.switchToHttp().getRequest());
  }

  async authenticate(request) {
    const user = await authenticate(this.verify, this.store.db, this.store.cache, request.headers.authorization);
    if (!user) throw new HttpRefusal(401, 'UNAUTHORIZED', 'The access token is invalid');
    request.user = user;
    return true;
  }
}
Injectable()(AuthGuard);
Inject(STORE)(AuthGuard, undefined, 0);

/** Error envelopes (never on the benchmarked paths; here so a refusal looks like the app's). */
class EnvelopeFilter {
  catch(error, host) {
    const request = host.switchToHttp().getRequest();
    const reply = host.switchToHttp().getResponse();
    if (error instanceof HttpRefusal) return reply.code(error.status).send(errorBody(request.id, error.code, error.message, error.details));
    const status = typeof error.getStatus === 'function' ? error.getStatus() : 500;
    return reply
      .code(status)
      .send(errorBody(request.id, status === 404 ? 'NOT_FOUND' : 'INTERNAL_ERROR', status === 404 ? 'Not found' : 'Internal error'));
  }
}
Catch()(EnvelopeFilter);

class UsersController {
  constructor(store) {
    this.store = store;
  }

  /** Self (the guard's record, no second read) or admin (one more cache read). */
  async get(request, id) {
    if (!UUID.test(id)) throw new HttpRefusal(400, 'VALIDATION_ERROR', 'The request is not valid', { id: ['id must be a UUID'] });
    const caller = request.user;
    const wanted = id.toLowerCase();
    if (wanted !== caller.id && !caller.roles.includes('admin'))
      throw new HttpRefusal(403, 'FORBIDDEN', 'You may only access your own user');
    const user = wanted === caller.id ? caller : await loadUser(this.store.db, this.store.cache, wanted);
    if (!user) throw new HttpRefusal(404, 'NOT_FOUND', `User ${wanted} was not found`, { resource: 'User', id: wanted });
    return toUserResponse(user);
  }
}
Controller('api/v1/users')(UsersController);
Inject(STORE)(UsersController, undefined, 0);
decorate(UsersController, 'get', Get(':id'));
Req()(UsersController.prototype, 'get', 0);
Param('id')(UsersController.prototype, 'get', 1);

class HealthController {
  live() {
    return { status: 'ok' };
  }
}
Controller('health')(HealthController);
decorate(HealthController, 'live', Get('live'), SetMetadata(PUBLIC, true));

function decorate(target, method, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, method);
  for (const decorator of decorators) decorator(target.prototype, method, descriptor);
}

const store = {
  db: await openDatabase(process.env.DATABASE_URL),
  cache: await openCache(process.env.REDIS_URL || null, `${process.env.REDIS_KEY_PREFIX ?? ''}floor:`),
};

class FloorModule {}
Module({
  controllers: [UsersController, HealthController],
  providers: [
    { provide: STORE, useValue: store },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
    { provide: APP_FILTER, useClass: EnvelopeFilter },
  ],
})(FloorModule);

const app = await NestFactory.create(FloorModule, new FastifyAdapter({ genReqId: requestIdOf, keepAliveTimeout: 72_000 }), {
  logger: false,
  bodyParser: false,
});
app
  .getHttpAdapter()
  .getInstance()
  .addHook('onRequest', (request, reply, done) => {
    applyEdgeHeaders(request, reply);
    done();
  });
await app.listen(Number(process.env.PORT || 3102), '127.0.0.1');
process.on('SIGTERM', () => {
  app
    .close()
    .then(() => Promise.all([store.db.close(), store.cache.close()]))
    .finally(() => process.exit(0));
});
