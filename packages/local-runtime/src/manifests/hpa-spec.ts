import { z } from 'zod';
import { parseObject, UNSUPPORTED } from './deployment-spec.ts';
import { ManifestError } from './manifest-error.ts';
import type { ManifestDocument } from './manifest-files.ts';

export interface ScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodMs: number;
}

export interface ScalingRules {
  readonly stabilizationWindowMs: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly ScalingPolicy[];
}

export interface HpaSpec {
  readonly name: string;
  readonly file: string;
  readonly deployment: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** averageUtilization of the CPU Resource metric, in percent of the CPU request. */
  readonly targetCpuUtilization: number;
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

const rulesSchema = z.object({
  stabilizationWindowSeconds: z.number().int().min(0).max(3600).optional(),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z
    .array(
      z.object({
        type: z.enum(['Pods', 'Percent']),
        value: z.number().int().min(1),
        periodSeconds: z.number().int().min(1).max(1800),
      }),
    )
    .min(1)
    .optional(),
  tolerance: unsupported(),
});

function unsupported() {
  return z.undefined({ error: UNSUPPORTED }).optional();
}

const hpaSchema = z.object({
  apiVersion: z.literal('autoscaling/v2'),
  kind: z.literal('HorizontalPodAutoscaler'),
  metadata: z.object({ name: z.string().min(1) }),
  spec: z.object({
    scaleTargetRef: z.object({
      kind: z.literal('Deployment', { error: `${UNSUPPORTED} (only Deployment)` }),
      name: z.string().min(1),
    }),
    minReplicas: z.number().int().min(1).default(1),
    maxReplicas: z.number().int().min(1),
    metrics: z
      .array(
        z.object({
          type: z.literal('Resource', { error: `${UNSUPPORTED} (only Resource cpu Utilization)` }),
          resource: z.object({
            name: z.literal('cpu', { error: `${UNSUPPORTED} (only cpu)` }),
            target: z.object({
              type: z.literal('Utilization', { error: `${UNSUPPORTED} (only Utilization)` }),
              averageUtilization: z.number().int().min(1),
            }),
          }),
        }),
      )
      .length(1, 'must hold exactly one metric, the CPU utilisation'),
    behavior: z.object({ scaleUp: rulesSchema.optional(), scaleDown: rulesSchema.optional() }).optional(),
  }),
});

type RawRules = z.infer<typeof rulesSchema>;

// Kubernetes' defaults (HorizontalPodAutoscalerBehavior).
const DEFAULT_UP: ScalingRules = {
  stabilizationWindowMs: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodMs: 15_000 },
    { type: 'Percent', value: 100, periodMs: 15_000 },
  ],
};
const DEFAULT_DOWN: ScalingRules = {
  stabilizationWindowMs: 300_000,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }],
};

function rules(raw: RawRules | undefined, defaults: ScalingRules): ScalingRules {
  return {
    stabilizationWindowMs:
      raw?.stabilizationWindowSeconds === undefined
        ? defaults.stabilizationWindowMs
        : raw.stabilizationWindowSeconds * 1000,
    selectPolicy: raw?.selectPolicy ?? defaults.selectPolicy,
    policies:
      raw?.policies?.map((p) => ({ type: p.type, value: p.value, periodMs: p.periodSeconds * 1000 })) ??
      defaults.policies,
  };
}

export function hpaSpec(document: ManifestDocument): HpaSpec {
  const metadata = document.object['metadata'] as { name?: unknown } | undefined;
  const label = `HorizontalPodAutoscaler ${typeof metadata?.name === 'string' ? metadata.name : '(unnamed)'}`;
  const raw = parseObject(hpaSchema, document, label);
  if (raw.spec.minReplicas > raw.spec.maxReplicas) {
    throw new ManifestError(
      document.file,
      label,
      'spec.minReplicas',
      `(${raw.spec.minReplicas}) must not exceed spec.maxReplicas`,
    );
  }
  return {
    name: raw.metadata.name,
    file: document.file,
    deployment: raw.spec.scaleTargetRef.name,
    minReplicas: raw.spec.minReplicas,
    maxReplicas: raw.spec.maxReplicas,
    targetCpuUtilization: raw.spec.metrics[0]!.resource.target.averageUtilization,
    scaleUp: rules(raw.spec.behavior?.scaleUp, DEFAULT_UP),
    scaleDown: rules(raw.spec.behavior?.scaleDown, DEFAULT_DOWN),
  };
}
