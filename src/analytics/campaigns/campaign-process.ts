import type { Alert } from '../../alerts/alert.js';
import type { AlertEmitter } from '../../alerts/alert-emitter.js';
import type { KeyedBatch, KeyedProcess } from '../../state/operators/keyed-state.js';
import type { CustomerStore } from '../../state/customer-store.js';
import type { StateSignal } from '../../state/signals.js';
import type { CanonicalEvent } from '../../core/event.js';
import {
  CampaignCohorts,
  type CampaignCohortsOptions,
  type CampaignCohortsSnapshot,
  type CampaignReport,
} from './cohorts.js';
import { campaignReportAlert } from './report-alert.js';

/**
 * Campaign cohorts as a keyed process: it sees each applied event in stream order, with the
 * watermark in force. Per-customer fields: the cohort entries in `CampaignCohorts`' bounded
 * map (whether a purchase is the customer's first is keyed state's purchase count); timers:
 * one per live campaign in effect, its window's close, checked against the watermark before
 * each event and at each batch's close; global state: per-campaign counts and final reports.
 * A closed window's report goes out as `campaign.report`.
 */
export class CampaignProcess implements KeyedProcess<Alert> {
  readonly cohorts: CampaignCohorts;
  private out: Alert[] = [];
  private readonly onReport: (r: CampaignReport) => void;

  constructor(
    private readonly store: Pick<CustomerStore, 'purchases'>,
    opts: CampaignCohortsOptions,
    emitter?: AlertEmitter,
  ) {
    this.cohorts = new CampaignCohorts(opts);
    this.onReport = (r) => {
      if (emitter === undefined) return;
      emitter.emitted['campaign.report']++;
      this.out.push(campaignReportAlert(r));
    };
  }

  /** Where reports go until the next `begin`: a batch's alerts (or the global stage's list). */
  begin(batch: Pick<KeyedBatch<Alert>, 'alerts'>): void {
    this.out = batch.alerts;
  }

  onSignals(_signals: readonly StateSignal[], _from: number, watermark: number): void {
    this.cohorts.advance(watermark, this.onReport);
  }

  onApplied(slot: number, event: CanonicalEvent, watermark: number): void {
    this.onEvent(event, watermark, event.type === 'purchase' && this.store.purchases(slot) === 1);
  }

  /**
   * An applied event with the watermark in force, `firstPurchase` as keyed state knew it. The
   * keyed process calls it, and so does the stage after the shuffle, which runs the cohorts
   * once for all partitions (`CampaignStage`, src/app/partitions/global-stage.ts).
   */
  onEvent(event: CanonicalEvent, watermark: number, firstPurchase: boolean): void {
    this.cohorts.advance(watermark, this.onReport);
    this.cohorts.onEvent(event, firstPurchase);
  }

  onWatermark(watermark: number): void {
    this.cohorts.advance(watermark, this.onReport);
  }

  report(campaign: string, asOf: number): CampaignReport | undefined {
    return this.cohorts.report(campaign, asOf);
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
