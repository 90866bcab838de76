import * as z from 'zod';
import { alertTypes, type AlertType } from './alert.js';

/**
 * The `alerts` section of the configuration, for `src/config/schema.ts` to include.
 * Defaults belong in `config/default.json`, like every other section's.
 */

/**
 * A score band with hysteresis. With `enter` above `exit` the alert is about a rising
 * score (churn risk: fires at ≥ enter, re-arms at ≤ exit); with `enter` below `exit`, about
 * a falling one (fires at ≤ enter, re-arms at ≥ exit). The gap between the two is what
 * keeps a customer hovering at one threshold from raising an alert at every wobble.
 */
export const hysteresisBand = z
  .strictObject({
    enter: z.number().min(0).max(1),
    exit: z.number().min(0).max(1),
  })
  .refine((b) => b.enter !== b.exit, {
    message: 'must differ from enter: equal thresholds give no hysteresis',
    path: ['exit'],
  });
export type HysteresisBand = z.infer<typeof hysteresisBand>;

export const alertPolicy = z.strictObject({
  /** After an alert fires, the same type for the same customer waits this much event time. */
  cooldownMs: z.number().int().min(0),
  /** null: every occasion may fire, subject only to the cooldown. */
  hysteresis: hysteresisBand.nullable(),
});
export type AlertPolicy = z.infer<typeof alertPolicy>;

/**
 * Config keys of the per-type policies. Alert types contain dots, which `VIGIL_*`
 * environment overrides cannot express as one path segment, so the keys are camelCase.
 */
export const alertPolicyKeys = {
  'churn.risk': 'churnRisk',
  'value.tier_changed': 'valueTierChanged',
  'segment.changed': 'segmentChanged',
  'cart.abandoned': 'cartAbandoned',
  'recommendation.cross_sell': 'recommendationCrossSell',
  'demand.spike': 'demandSpike',
  'demand.drop': 'demandDrop',
} as const satisfies Record<AlertType, string>;
type PolicyKey = (typeof alertPolicyKeys)[AlertType];

const policiesShape = Object.fromEntries(alertTypes.map((t) => [alertPolicyKeys[t], alertPolicy])) as {
  [K in PolicyKey]: typeof alertPolicy;
};

export const alertsConfig = z.strictObject({
  policies: z.strictObject(policiesShape),
  suppression: z.strictObject({
    /** Customers who opted out of marketing: one id per line, or a JSON array. null: nobody. */
    file: z.string().min(1).nullable(),
    /** A longer list is refused rather than cut: cutting it would contact opted-out people. */
    maxIds: z.number().int().min(1).max(50_000_000),
    /** A larger file is refused before it is read. */
    maxFileBytes: z.number().int().min(1).max(4 * 1024 * 1024 * 1024),
  }),
});
export type AlertsConfig = z.infer<typeof alertsConfig>;

/** The policies keyed by alert type, as `AlertCooldowns` takes them. */
export function policiesByType(policies: AlertsConfig['policies']): Record<AlertType, AlertPolicy> {
  return Object.fromEntries(alertTypes.map((t) => [t, policies[alertPolicyKeys[t]]])) as Record<AlertType, AlertPolicy>;
}
