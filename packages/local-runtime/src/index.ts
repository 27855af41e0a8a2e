// The local runtime's API: start it (from a plan or from options), read its manifests, talk to it.
export { startRuntime, preparePlan, DEFAULT_FRONT_PORTS } from './runtime.ts';
export type { Runtime, RuntimeOptions } from './runtime.ts';
export { planRuntime } from './start-up/plan.ts';
export type { PlanOptions, RuntimePlan, PlannedPort } from './start-up/plan.ts';
export { PortBusyError } from './start-up/check-ports.ts';
export { loadPlatform } from './manifests/manifests.ts';
export type { Platform } from './manifests/manifests.ts';
export type { DeploymentSpec, PodSpec, ProbeSpec } from './manifests/deployment-spec.ts';
export type { DatabaseSpec } from './manifests/database-spec.ts';
export type { HpaSpec } from './manifests/hpa-spec.ts';
export { ManifestError } from './manifests/manifest-error.ts';
export { ControlClient, RuntimeNotRunningError } from './control-plane/control-client.ts';
