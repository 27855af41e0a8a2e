import type { Logger } from 'pino';
import { CpuSampler } from './cpu-usage.ts';
import type { DeploymentController } from '../supervision/deployment-controller.ts';
import { HorizontalPodAutoscaler } from './hpa.ts';
import type { HpaSpec } from '../manifests/hpa-spec.ts';

/** Runs every HPA each interval: measures CPU of the ready replicas and scales their Deployment. */
export class Autoscaler {
  readonly autoscalers: readonly HorizontalPodAutoscaler[];
  readonly #controllers: ReadonlyMap<string, DeploymentController>;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #sampler: CpuSampler;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(options: {
    specs: readonly HpaSpec[];
    controllers: ReadonlyMap<string, DeploymentController>;
    intervalMs: number;
    logger: Logger;
    sampler?: CpuSampler;
  }) {
    this.autoscalers = options.specs.map((spec) => new HorizontalPodAutoscaler(spec));
    this.#controllers = options.controllers;
    this.#intervalMs = options.intervalMs;
    this.#logger = options.logger;
    this.#sampler = options.sampler ?? new CpuSampler();
  }

  /** First evaluation now (min/max apply at once; utilisation needs two samples), then every interval. */
  start(): void {
    const tick = async () => {
      try {
        await this.evaluate();
      } catch (error) {
        this.#logger.error({ err: error }, 'autoscaler evaluation failed');
      }
      if (!this.#stopped) this.#timer = setTimeout(() => void tick(), this.#intervalMs);
    };
    void tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async evaluate(): Promise<void> {
    const targets = this.autoscalers.flatMap((hpa) => {
      const controller = this.#controllers.get(hpa.spec.deployment);
      if (!controller) return [];
      const pids = controller.readyReplicas.flatMap((replica) => (replica.pid === null ? [] : [replica.pid]));
      return [{ hpa, controller, pids }];
    });
    // One sample for every HPA's replicas: the sampler forgets the pids a call does not name.
    const usage = await this.#sampler.sample(targets.flatMap((t) => t.pids));
    for (const { hpa, controller, pids } of targets) {
      if (this.#stopped) return;
      const request = controller.spec.cpuRequestCores ?? 1;
      const measured = pids.filter((pid) => usage.has(pid)).map((pid) => (usage.get(pid)! / request) * 100);
      const utilisation =
        measured.length === 0 ? undefined : measured.reduce((a, b) => a + b, 0) / measured.length;
      const decision = hpa.evaluate(controller.desired, utilisation);
      this.#logger.debug(
        { hpa: hpa.spec.name, utilisation, desired: decision.desired },
        'autoscaler evaluated',
      );
      if (decision.desired !== controller.desired) controller.scale(decision.desired, decision.reason);
    }
  }
}
