/** Every service container listens on this port, named `http`. */
export const CONTAINER_PORT = 8080;

/** The port of every Kubernetes Service. */
export const SERVICE_PORT = 80;

/**
 * The local runtime's ports on 127.0.0.1 (KIND maps the same host ports where it can). A port held by
 * someone else is reported with its holder and, for the ones marked in the runtime, worked around.
 */
export const LOCAL_PORTS = {
  order: 8080,
  inventory: 8081,
  notification: 8082,
  control: 7070,
  postgres: 5433,
  prometheus: 9090,
  alertmanager: 9093,
  console: 3000,
} as const;

export type LocalPortName = keyof typeof LOCAL_PORTS;

/** The control API's URL when nothing else is configured. */
export const DEFAULT_CONTROL_URL = `http://127.0.0.1:${LOCAL_PORTS.control}`;

/** The order front's URL when nothing else is configured (load generator, chaos engine). */
export const DEFAULT_ORDER_URL = `http://127.0.0.1:${LOCAL_PORTS.order}`;
