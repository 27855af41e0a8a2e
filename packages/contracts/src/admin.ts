/**
 * Every service's admin API (`/admin/faults`, `/admin/audit/*`) takes its token in this header.
 * Not `Authorization`: kube-apiserver's authentication filter deletes that header from a request it
 * has authenticated before the pod and service proxy forward it, so a token sent that way never
 * reaches the pod. Custom headers pass through the proxy unchanged.
 */
export const ADMIN_TOKEN_HEADER = 'x-admin-token';

/** The environment variable that sets the admin token of a service. */
export const ADMIN_TOKEN_ENV = 'ADMIN_TOKEN';

/** The token the local runtime gives its replicas (and the chaos engine uses there) unless told otherwise. */
export const LOCAL_ADMIN_TOKEN = 'local-chaos-token';
