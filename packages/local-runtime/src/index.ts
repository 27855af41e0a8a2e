export { startRuntime, DEFAULT_FRONT_PORTS } from './runtime.ts';
export type { Runtime, RuntimeOptions } from './runtime.ts';
export { loadPlatform } from './manifests.ts';
export type { Platform } from './manifests.ts';
export type { DeploymentSpec, ProbeSpec } from './deployment-spec.ts';
export type { HpaSpec } from './hpa-spec.ts';
export { ManifestError } from './manifest-error.ts';
export { ControlClient, RuntimeNotRunningError } from './control-client.ts';
