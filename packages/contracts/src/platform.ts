/** The platform's name: the `part-of` label, the chaos label prefix, the images' repository. */
export const PLATFORM = 'self-healing-shop';

/** The Kubernetes namespace of the services and their database. */
export const NAMESPACE = 'shop';

/** The three services, in the order a placed order visits them. */
export const SERVICES = ['order', 'inventory', 'notification'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The recommended Kubernetes labels every workload carries. */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  partOf: 'app.kubernetes.io/part-of',
  component: 'app.kubernetes.io/component',
} as const;

/** The chaos engine's target selector: every workload of the platform. */
export const PLATFORM_SELECTOR = `${LABELS.partOf}=${PLATFORM}`;

/** `"true"` on a workload (or pod) excludes it from chaos experiments. */
export const PROTECTED_LABEL = `chaos.${PLATFORM}/protected`;

/** The database: a StatefulSet on Kubernetes, a supervised process on the local runtime. */
export const DATABASE_WORKLOAD = 'postgres';
export const DATABASE_REPLICA = 'postgres-0';
