export {
  startRuntime,
  DEFAULT_FRONT_PORTS,
  DEFAULT_CONTROL_PORT,
  DEFAULT_FAULT_INJECTION_TOKEN,
} from './runtime.ts';
export type { Runtime, RuntimeOptions } from './runtime.ts';
export { loadPlatform } from './manifests.ts';
export type { Platform } from './manifests.ts';
export type { DeploymentSpec, ProbeSpec } from './deployment-spec.ts';
export type { HpaSpec } from './hpa-spec.ts';
export { ManifestError } from './manifest-error.ts';
export type { RuntimeEvent, RuntimeEventType } from './event-log.ts';
export type { ReplicaView, RuntimeInfo } from './control-api.ts';
export type { DeploymentStatus } from './deployment-controller.ts';
export { ControlClient, RuntimeNotRunningError } from './control-client.ts';
