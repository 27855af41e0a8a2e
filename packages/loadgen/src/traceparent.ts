import { randomBytes } from 'node:crypto';

/** A W3C Trace Context `traceparent` (version 00) and the ids in it. */
export interface TraceParent {
  readonly header: string;
  readonly traceId: string;
  readonly spanId: string;
}

const ZERO = /^0+$/;

function randomHex(bytes: number): string {
  // An all-zero id is invalid (W3C Trace Context): draw again (1 in 2^64 or 2^128).
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!ZERO.test(hex)) return hex;
  }
}

/**
 * A fresh sampled `traceparent` (flags 01) with random ids: each request starts a trace of its own and
 * the services, whose sampler follows a sampled parent, record it whatever their own sampling rate.
 */
export function newTraceParent(): TraceParent {
  const traceId = randomHex(16);
  const spanId = randomHex(8);
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}
