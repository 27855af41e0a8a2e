import type { RolloutRequest, RolloutView } from '@self-healing-shop/contracts';
import { NoPreviousRevisionError } from '../supervision/deployment-controller.ts';
import type { DeploymentController } from '../supervision/deployment-controller.ts';
import { ConflictError } from './control-api.ts';
import type { ControlTarget } from './control-api.ts';

/** The control API's rollout and rollback, acting on the runtime's Deployment controllers. */
export function rolloutTarget(
  controllers: ReadonlyMap<string, DeploymentController>,
): Required<Pick<ControlTarget, 'rollout' | 'undo'>> {
  return {
    rollout: (name: string, change: RolloutRequest): RolloutView | undefined =>
      controllers.get(name)?.rollout(change),
    undo: (name: string): RolloutView | undefined => {
      try {
        return controllers.get(name)?.undo();
      } catch (error) {
        if (error instanceof NoPreviousRevisionError) throw new ConflictError(error.message);
        throw error;
      }
    },
  };
}
