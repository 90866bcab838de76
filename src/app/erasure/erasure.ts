import { randomBytes } from 'node:crypto';
import { VigilError } from '../../core/errors.js';
import { Pseudonymiser } from '../../delivery/marketing/pseudonym.js';
import { MAX_KEY_LENGTH } from '../../core/event.js';
import type { EngineState } from '../engine-state.js';
import type { Logger } from '../../core/logger.js';
import type { SuppressionStore } from './suppression-store.js';

export type ErasureChannel = 'http' | 'nats' | 'list';

export interface ErasureResult {
  /** The customer was in state (a suppression is recorded either way). */
  readonly existed: boolean;
  /** Held stream alerts about the customer that were dropped. */
  readonly alertsDropped: number;
}

/**
 * Erasure of a customer (GDPR Art. 17, CCPA). `DELETE /v1/customers/:id`, a request on
 * `erasure.subject` and `vigil erase` (which adds to the suppression list) all end here:
 *
 * 1. the id is recorded in the suppression list (KV or file) and the engine's copy of it, so
 *    later events about it are rejected (`VIGIL_ERR_SUPPRESSED`);
 * 2. keyed state forgets it: record, windows, timers, recent items (the recommender's
 *    history), analytics records and alert gates (`CustomerStore.erase`); the co-view counts
 *    it contributed to stay, being aggregates over customers; campaign cohorts forget the
 *    customer's entry (their counts stay, likewise);
 * 3. the listeners (the stream hub) drop what they hold about it (held alerts);
 * 4. one audit line records it, with the id pseudonymised.
 *
 * All of it runs between two batches (JavaScript has one thread), so no batch sees half an
 * erasure. The suppression is durable before anything is forgotten: an erasure that cannot
 * be recorded fails (`VIGIL_ERR_ERASURE`) and changes nothing.
 */
export class Erasure {
  private readonly listeners: ((customerId: string) => number)[] = [];
  private readonly holders: ((customerId: string) => Promise<boolean>)[] = [];
  private readonly pseudonyms: Pseudonymiser;
  erased = 0;

  constructor(
    private readonly state: EngineState,
    private readonly store: SuppressionStore | undefined,
    private readonly log: Logger,
    /** Keys the audit line's pseudonym (`triggers.pseudonymise.secret`); without one, a random per-process key. */
    secret: string | null,
  ) {
    this.pseudonyms = new Pseudonymiser(secret ?? randomBytes(32).toString('base64url'));
  }

  /** Something else holding customer data forgets it too; returns how many items it dropped. */
  onErase(listener: (customerId: string) => number): void {
    this.listeners.push(listener);
  }

  /**
   * Something holding customers elsewhere (the partition workers) forgets the customer and
   * answers whether it held them: the erasure's `existed`. When it does not answer, the
   * erasure still stands (it was recorded and sent) and the failure is logged.
   */
  onEraseHeld(holder: (customerId: string) => Promise<boolean>): void {
    this.holders.push(holder);
  }

  /** Reads the suppression list and keeps following it: ids added elsewhere are erased here too. */
  async start(): Promise<void> {
    await this.store?.watch((ids) => {
      for (const id of ids) if (!this.state.suppressed.has(id)) void this.forget(id, 'list');
    });
  }

  async erase(customerId: string, via: ErasureChannel): Promise<ErasureResult> {
    if (!isCustomerId(customerId))
      throw new VigilError('VIGIL_ERR_USAGE', `a customer id has 1 to ${MAX_KEY_LENGTH} characters`);
    await this.store?.add(customerId);
    return this.forget(customerId, via);
  }

  private async forget(customerId: string, via: ErasureChannel): Promise<ErasureResult> {
    this.state.suppressed.add(customerId);
    const inStore = this.state.store.erase(customerId);
    const inCohorts = this.state.campaigns?.erase(customerId) === true;
    let alertsDropped = 0;
    for (const l of this.listeners) alertsDropped += l(customerId);
    let held = false;
    for (const h of this.holders)
      held = await h(customerId).then(
        (yes) => yes || held,
        (e: unknown) => {
          this.log.warn({ err: (e as Error).message, via }, 'erasure: a partition worker did not confirm');
          return held;
        },
      );
    const existed = inStore || inCohorts || held;
    this.erased++;
    this.log.info(
      { audit: 'erasure', customer: this.pseudonyms.customer(customerId), via, existed, alertsDropped },
      'customer erased',
    );
    return { existed, alertsDropped };
  }

  close(): Promise<void> {
    return this.store?.close() ?? Promise.resolve();
  }
}

export function isCustomerId(id: string): boolean {
  return id.length >= 1 && id.length <= MAX_KEY_LENGTH;
}
