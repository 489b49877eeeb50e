/** Class-based controllers using the `@Guard` TC39 method decorators of the three adapters. */
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from 'hono';
import { Guard as ExpressGuard } from '../../adapters/express.js';
import { Guard as FastifyGuard } from '../../adapters/fastify.js';
import { Guard as HonoGuard } from '../../adapters/hono.js';

export class ExpressRefunds {
  constructor(readonly calls: string[]) {}

  @ExpressGuard('refund')
  create(req: ExpressRequest, res: ExpressResponse, _next?: NextFunction): void {
    this.calls.push('decorator');
    res.json({ route: 'decorator', decisionId: req.actra?.decisionId ?? null, effect: req.actra?.decision?.effect ?? null, mode: req.actra?.mode ?? null });
  }

  /** `payout` is not declared in the schema, and this method is reached through a wrapper: found at request time only. */
  @ExpressGuard('payout')
  misconfigured(_req: ExpressRequest, res: ExpressResponse, _next?: NextFunction): void {
    this.calls.push('misconfigured');
    res.json({ route: 'misconfigured' });
  }
}

export class FastifyRefunds {
  constructor(readonly calls: string[]) {}

  @FastifyGuard('refund')
  async create(request: FastifyRequest, _reply: FastifyReply): Promise<unknown> {
    this.calls.push('decorator');
    return { route: 'decorator', decisionId: request.actra?.decisionId ?? null, effect: request.actra?.decision?.effect ?? null, mode: request.actra?.mode ?? null };
  }

  /** `payout` is not declared in the schema, and this method is reached through a wrapper: found at request time only. */
  @FastifyGuard('payout')
  async misconfigured(_request: FastifyRequest, _reply: FastifyReply): Promise<unknown> {
    this.calls.push('misconfigured');
    return { route: 'misconfigured' };
  }
}

export class HonoRefunds {
  constructor(readonly calls: string[]) {}

  @HonoGuard('refund')
  create(c: Context): Response {
    this.calls.push('decorator');
    const actra = c.get('actra');
    return c.json({ route: 'decorator', decisionId: actra?.decisionId ?? null, effect: actra?.decision?.effect ?? null, mode: actra?.mode ?? null });
  }

  /** `payout` is not declared in the schema, and this method is reached through a wrapper: found at request time only. */
  @HonoGuard('payout')
  misconfigured(c: Context): Response {
    this.calls.push('misconfigured');
    return c.json({ route: 'misconfigured' });
  }
}
