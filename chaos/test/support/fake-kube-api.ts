/**
 * TEST DOUBLE of the Kubernetes API server (kube/api-server.ts), its controllers (kube/cluster.ts),
 * its storage and watch cache (kube/store.ts), the pods' containers (kube/pod-network.ts) and the
 * services' data their audit API reads (shop.ts).
 */
export { FakeKubeApi, type FakeKubeOptions, type FakeWorkloadSpec } from './kube/api-server.ts';
export type { Obj } from './kube/store.ts';
export type { ContainerRequest } from './kube/pod-network.ts';
export { Shop, type ShopOptions } from './shop.ts';
