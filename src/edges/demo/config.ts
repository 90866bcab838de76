import * as z from 'zod';

const positiveInt = z.number().int().min(1);

/** The `demo` section: the embedded synthetic shop, run when no NATS url is configured. */
export const demoConfig = z.strictObject({
  seed: z.number().int(),
  customers: positiveInt,
  products: positiveInt,
  /** Target input rate of the embedded demo (events per wall-clock second). */
  eventsPerSecond: positiveInt,
  /** How many days of shop history the demo replays before it catches up with the wall clock. */
  historyDays: z.number().min(0).max(365),
  /**
   * After catching up, the shop's further events at this rate (events per wall-clock second,
   * stamped with the time they are sent); 0: at the shop's own pace, a few events a minute.
   */
  liveEventsPerSecond: z.number().min(0).max(100_000),
});
export type DemoConfig = z.infer<typeof demoConfig>;
