// A small evaluator of Kubernetes NetworkPolicy semantics, enough to check the flows the platform needs:
// a connection is allowed when the source's egress and the destination's ingress both allow it, where
// a direction with no policy selecting the pod is open, and otherwise the union of the rules applies.
import { BlockList, isIPv6 } from 'node:net';
import type { K8sObject } from './manifests.ts';

export interface Endpoint {
  /** Empty for a source outside every pod network (a node's host network, e.g. the API server). */
  namespace: string;
  labels: Record<string, string>;
  /** The address, for `ipBlock` peers (nodes and the API server have no labels a selector can match). */
  ip?: string;
  /** Named container ports of the pod (to resolve `port: http`). */
  ports?: Record<string, number>;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    if (operator === 'In' && !(has && values.includes(labels[key]))) return false;
    if (operator === 'NotIn' && has && values.includes(labels[key])) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function namespaceLabels(namespace: string): Record<string, string> {
  return { 'kubernetes.io/metadata.name': namespace };
}

interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}

function inCidr(ip: string, cidrs: string[]): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    list.addSubnet(network, Number(prefix), isIPv6(network) ? 'ipv6' : 'ipv4');
  }
  return list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    const { cidr, except = [] } = peer.ipBlock;
    return other.ip !== undefined && inCidr(other.ip, [cidr]) && !inCidr(other.ip, except);
  }
  if (other.namespace === '') return false; // host-network sources match only ipBlocks
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, namespaceLabels(other.namespace))
    : other.namespace === policyNamespace;
  return namespaceOk && selects(peer.podSelector ?? {}, other.labels);
}

interface PolicyPort {
  port?: number | string;
  protocol?: string;
  endPort?: number;
}

function portMatches(
  ports: PolicyPort[] | undefined,
  destination: Endpoint,
  port: number,
  protocol: string,
): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'string' ? destination.ports?.[p.port] : p.port;
    if (number === undefined) return false;
    return p.endPort ? port >= number && port <= p.endPort : port === number;
  });
}

function directionAllows(
  policies: K8sObject[],
  direction: 'Ingress' | 'Egress',
  subject: Endpoint,
  other: Endpoint,
  destination: Endpoint,
  port: number,
  protocol: string,
): boolean {
  if (subject.namespace === '') return true; // no NetworkPolicy applies outside the pod network
  const applying = policies.filter(
    (p) =>
      (p.metadata.namespace ?? 'default') === subject.namespace &&
      selects(p.spec.podSelector, subject.labels) &&
      (p.spec.policyTypes ?? ['Ingress']).includes(direction),
  );
  if (applying.length === 0) return true;
  const key = direction === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = direction === 'Ingress' ? 'from' : 'to';
  return applying.some((policy) =>
    (policy.spec[key] ?? []).some(
      (rule: Record<string, unknown>) =>
        (rule[peersKey] === undefined ||
          (rule[peersKey] as Peer[]).some((peer) => peerMatches(peer, subject.namespace, other))) &&
        portMatches(rule.ports as PolicyPort[] | undefined, destination, port, protocol),
    ),
  );
}

export function allowed(
  policies: K8sObject[],
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol: 'TCP' | 'UDP' = 'TCP',
): boolean {
  return (
    directionAllows(policies, 'Egress', from, to, to, port, protocol) &&
    directionAllows(policies, 'Ingress', to, from, to, port, protocol)
  );
}
