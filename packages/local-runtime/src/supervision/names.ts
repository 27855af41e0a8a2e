import { createHash, randomInt } from 'node:crypto';

// The alphabet Kubernetes uses for generated names (no vowels, no look-alikes).
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function encode(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return out;
}

/** The pod-template-hash of a Deployment's template revision, as in `order-7c9f6d8b5f`. */
export function templateHash(deployment: string, templateGeneration: number): string {
  return encode(createHash('sha256').update(`${deployment}/${templateGeneration}`).digest(), 10);
}

/** A pod name: `<deployment>-<template hash>-<5 random characters>`. */
export function podName(deployment: string, templateGeneration: number): string {
  let suffix = '';
  for (let i = 0; i < 5; i += 1) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `${deployment}-${templateHash(deployment, templateGeneration)}-${suffix}`;
}

/** Whether `replica` is a pod of `workload`: `<deployment>-<hash>-<suffix>`, or `<statefulset>-<ordinal>`. */
export function belongsTo(replica: string, workload: string): boolean {
  const name = workload.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${name}-([a-z0-9]{10}-[a-z0-9]{5}|\\d+)$`).test(replica);
}
