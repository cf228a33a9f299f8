/**
 * The two families of cases: the transport cases, where quichex is measured
 * against @matrixai/quic, TLS over TCP, raw dgram and native quiche, and the
 * HTTP cases, where `@quichex/h3` is measured against `node:http2` and
 * `node:https`. A case runs only the implementations of its family, and its
 * ratios are its subject ÷ each anchor of the family.
 *
 * @module
 */
import type { Impl, Scenario } from './protocol.js';

/** A family of cases: who runs them, who is measured, and against whom. */
export interface Family {
  name: 'transport' | 'http';
  /** Implementations that run the family's cases, in column order. */
  impls: readonly Impl[];
  /** The implementation measured (the numerator of every ratio). */
  subject: Impl;
  /** The implementations it is compared with. */
  anchors: readonly Impl[];
}

const TRANSPORT: Family = {
  name: 'transport',
  impls: ['quichex', 'matrixai', 'tls', 'dgram', 'native'],
  subject: 'quichex',
  anchors: ['matrixai', 'tls', 'dgram', 'native'],
};

const HTTP: Family = {
  name: 'http',
  impls: ['h3', 'http2', 'https'],
  subject: 'h3',
  anchors: ['http2', 'https'],
};

/** Every family, in report order. */
export const FAMILIES: readonly Family[] = [TRANSPORT, HTTP];

/** The family of a scenario. */
export function familyOf(scenario: Scenario): Family {
  return scenario === 'http' ? HTTP : TRANSPORT;
}
