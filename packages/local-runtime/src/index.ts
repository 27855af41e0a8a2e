export { startRuntime, DEFAULT_FRONT_PORTS } from './runtime.ts';
export type { Runtime, RuntimeOptions } from './runtime.ts';
export { loadPlatform } from './manifests/manifests.ts';
export type { Platform } from './manifests/manifests.ts';
export type { DeploymentSpec, ProbeSpec } from './manifests/deployment-spec.ts';
export type { HpaSpec } from './manifests/hpa-spec.ts';
export { ManifestError } from './manifests/manifest-error.ts';
export { ControlClient, RuntimeNotRunningError } from './control-plane/control-client.ts';
