import type { KeyedProcess } from '../../state/operators/keyed-state.js';
import type { CanonicalEvent } from '../../core/event.js';
import { CampaignCohorts, type CampaignCohortsSnapshot, type CampaignReport } from './cohorts.js';

/**
 * Campaign cohorts as a keyed process: it sees each applied event in stream order. Its
 * per-customer fields (cohort, entry time, first repeat) are in `CampaignCohorts`' own
 * bounded map; timers: none yet (a report is computed when asked, over the windows closed
 * by then); global state: per-campaign counts, which merge by addition.
 */
export class CampaignProcess implements KeyedProcess {
  readonly cohorts: CampaignCohorts;

  constructor(maxCustomers: number) {
    this.cohorts = new CampaignCohorts(maxCustomers);
  }

  begin(): void {}

  onSignals(): void {}

  onApplied(_slot: number, event: CanonicalEvent): void {
    this.cohorts.onEvent(event);
  }

  report(campaign: string, asOf: number, level = 0.95): CampaignReport | undefined {
    return this.cohorts.report(campaign, asOf, level);
  }

  /** Erasure (src/app/erasure/): the customer leaves every cohort; the counts stay. */
  erase(customerId: string): boolean {
    return this.cohorts.erase(customerId);
  }

  snapshot(): CampaignCohortsSnapshot {
    return this.cohorts.snapshot();
  }

  restore(s: CampaignCohortsSnapshot): void {
    this.cohorts.restore(s);
  }
}
