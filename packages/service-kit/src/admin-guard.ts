import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER } from '@self-healing-shop/contracts';

/**
 * Guards every admin route of a service (`/admin/faults`, `/admin/audit/*`) with the token of
 * `ADMIN_TOKEN`, sent in the `x-admin-token` header (not `Authorization`, which kube-apiserver's
 * proxy strips). Without a configured token the admin API is closed (403), so a replica deployed
 * without a secret never exposes it; a missing or wrong header answers 401.
 */
export function adminGuard(token: string | undefined): RequestHandler {
  const expected = token?.trim() ? digest(token.trim()) : undefined;
  return (req, res, next) => {
    if (!expected) {
      return sendProblem(
        res,
        403,
        'admin-disabled',
        'Admin API disabled',
        `this replica has no admin token: set ${ADMIN_TOKEN_ENV} to enable its admin API`,
      );
    }
    const given = req.get(ADMIN_TOKEN_HEADER);
    if (given === undefined || given === '') {
      return sendProblem(
        res,
        401,
        'unauthorized',
        'Unauthorized',
        `the admin API needs the token in the ${ADMIN_TOKEN_HEADER} header`,
      );
    }
    // Digests of equal length: neither the content nor the length of the token leaks through timing.
    if (!timingSafeEqual(digest(given), expected)) {
      return sendProblem(
        res,
        401,
        'unauthorized',
        'Unauthorized',
        `the ${ADMIN_TOKEN_HEADER} token is not valid`,
      );
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function sendProblem(res: Response, status: number, slug: string, title: string, detail: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({ type: `urn:problem:${slug}`, title, status, detail, instance: res.req.originalUrl }),
    );
}
