import { ItemKnn, Popularity, SequentialRules } from '../../analytics/recs/baselines.js';
import { PrequentialPopularity, PrequentialSequentialRules } from '../../analytics/recs/baselines-prequential.js';
import { evaluateNextItem, type NextItemModel, type TargetScores } from '../../analytics/recs/evaluate.js';
import { Stan, Vsknn } from '../../analytics/recs/session-knn.js';
import {
  ItemNeighbours,
  type ItemNeighboursConfig,
  type ItemNeighboursStats,
} from '../../analytics/recs/item-neighbours.js';
import { readClickSessions, readSessionClicks } from '../../analytics/recs/session-clicks.js';
import { VigilError } from '../../core/errors.js';
import { ProductDictionary } from '../../state/product-dictionary.js';
import { compact, ProgressLine } from './progress.js';

/**
 * `vigil eval recs --train FILE --test FILE`: next-item prediction on session click files
 * (`SessionId ItemId Time`), the protocol of session-rec (see `evaluate.ts`), for the
 * streaming recommender and, in the same run and by the same evaluator, the baselines of
 * Ludewig & Jannach (2018): popularity, item-kNN and sequential rules.
 *
 * The streaming model learns the training file the way the engine would: click by click in
 * file order, each view paired with the session's earlier items as held in a ring of the
 * engine's `state.recentItems` size, and it recommends from that same ring. Its headline
 * row ("streaming") learns from the training file only, like the baselines; the
 * "prequential" row also learns each test click after scoring it, taking the test clicks
 * in time order (sessions interleaved), as a live engine would.
 */
export interface EvalRecsOptions {
  readonly train: string;
  readonly test: string;
  /** List length for hit rate and MRR (default 20). */
  readonly k?: number;
  /** Recent items the engine keeps per customer (its `state.recentItems`, default 8). */
  readonly recentItems?: number;
  /** Run the session-kNN baselines (V-SKNN, STAN; the slow ones); default true. */
  readonly sessionKnn?: boolean;
  /** Settings of the streaming model over its defaults. */
  readonly model?: Partial<ItemNeighboursConfig>;
  readonly progress?: boolean;
}

export interface ModelScore {
  name: string;
  description: string;
  /** batch: trained on the training file only; prequential: also learns each test click after scoring it. */
  form: 'batch' | 'prequential';
  hitRate: number;
  mrr: number;
  predictions: number;
  hits: number;
  /** Targets that repeat the click just before them, and the others. */
  repeatTargets: TargetScores;
  otherTargets: TargetScores;
  seconds: number;
}

/** How the streaming row of a form compares with the strongest baseline of that form. */
export interface FormComparison {
  streaming: string;
  bestHitRate: { baseline: string; ratio: number };
  bestMrr: { baseline: string; ratio: number };
  /** The same on the targets that are not the item just clicked again. */
  otherTargetsBestHitRate: { baseline: string; ratio: number };
  otherTargetsBestMrr: { baseline: string; ratio: number };
}

export interface EvalRecsReport {
  cutoff: number;
  train: { file: string; clicks: number; sessions: number; items: number };
  test: { file: string; clicks: number; sessions: number; itemsUnseenInTraining: number };
  models: ModelScore[];
  streaming: {
    config: ItemNeighboursConfig;
    recentItems: number;
    trainSeconds: number;
    memory: { coViews: ItemNeighboursStats; coPurchases: ItemNeighboursStats };
  };
  /** The streaming rows against the strongest baseline of the same form, on each measure (ratios > 1: streaming ahead). */
  comparison: {
    hitRateVsPopularity: number;
    mrrVsPopularity: number;
    batch: FormComparison;
    prequential: FormComparison;
  };
}

const DEFAULT_RECENT_ITEMS = 8;
const SHOW_PROGRESS_AFTER_MS = 2000;

export async function evalRecs(opts: EvalRecsOptions): Promise<EvalRecsReport> {
  const cutoff = opts.k ?? 20;
  const recentItems = opts.recentItems ?? DEFAULT_RECENT_ITEMS;
  for (const [name, value] of [
    ['k', cutoff],
    ['recentItems', recentItems],
  ] as const) {
    if (!(Number.isInteger(value) && value >= 1))
      throw new VigilError('VIGIL_ERR_USAGE', `eval recs: ${name} must be a positive integer, not ${value}`);
  }
  const started = performance.now();
  const status = { phase: 'reading', done: 0, total: 0 };
  const line = new ProgressLine(
    () => `eval recs: ${status.phase}${status.total > 0 ? ` ${compact(status.done)}/${compact(status.total)}` : ''}`,
  );
  if (opts.progress !== false) line.start();
  try {
    const items = new ProductDictionary(Number.MAX_SAFE_INTEGER);
    const train = await readClickSessions(opts.train, items);
    const trainItems = items.size;
    const test = await readClickSessions(opts.test, items);

    status.phase = 'streaming the training file';
    status.total = train.clicks;
    const trainStarted = performance.now();
    const streaming = new ItemNeighbours({ maxItemIndex: Number.MAX_SAFE_INTEGER, ...opts.model });
    await learnFromFile(streaming, opts.train, items, recentItems, status);
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const memory = streaming.stats();
    const prequential = new ItemNeighbours(streaming.config);
    prequential.restore(streaming.snapshot());

    const models: { model: NextItemModel; description: string; fitSeconds: number; form: 'batch' | 'prequential' }[] =
      [];
    status.total = 0;
    const fitted = (fit: () => NextItemModel, description: string, form: 'batch' | 'prequential' = 'batch'): void => {
      const t = performance.now();
      status.phase = 'fitting the baselines';
      models.push({ model: fit(), description, fitSeconds: (performance.now() - t) / 1000, form });
    };
    const knn = opts.sessionKnn !== false;
    fitted(() => new Popularity().fit(train.sessions), 'most clicked items in training');
    fitted(
      () => new PrequentialPopularity().fit(train.sessions),
      'popularity counting the test clicks as they are learned',
      'prequential',
    );
    fitted(
      () => new ItemKnn().fit(train.sessions),
      'item-kNN of session-rec iknn.py: cosine (λ 20), 100 neighbours, last item',
    );
    fitted(
      () => new SequentialRules().fit(train.sessions),
      'sequential rules of session-rec sr.py: 10 steps, 1/gap, 20 rules per item, last item',
    );
    fitted(
      () => new PrequentialSequentialRules().fit(train.sessions),
      'the same rules, each test click adding its rules once scored',
      'prequential',
    );
    fitted(
      () => new SequentialRules({ steps: 20, weighting: 'quadratic' }, 'sequential-rules-q').fit(train.sessions),
      "sequential rules as in session-rec's example config: 20 steps, 1/gap², 20 rules per item",
    );
    if (knn) {
      const vsknn =
        'V-SKNN of session-rec vsknn.py, rsc15 config: k 100, sample 1000 most recent, quadratic position weighting, quadratic score weighting';
      const stanMrr =
        'STAN of session-rec stan.py, rsc15 stan-mrr config: k 1000, sample 10000, λspw 1e-5, λsnh 10 days, λinh 2';
      const stanHr =
        'STAN of session-rec stan.py, rsc15 stan-hr config: k 1000, sample 10000, λspw 0.5, λsnh 20 days, λinh 0.5';
      const mrr = { k: 1000, sampleSize: 10000, lambdaSpw: 1e-5, lambdaSnh: 10, lambdaInh: 2 };
      const hr = { k: 1000, sampleSize: 10000, lambdaSpw: 0.5, lambdaSnh: 20, lambdaInh: 0.5 };
      fitted(() => new Vsknn({}, 'v-sknn').fit(train.sessions), vsknn);
      fitted(
        () => new Vsknn({}, 'v-sknn-prequential').fit(train.sessions).prequential(),
        vsknn + '; test sessions join the index click by click',
        'prequential',
      );
      fitted(() => new Stan(mrr, 'stan-mrr').fit(train.sessions), stanMrr);
      fitted(
        () => new Stan(mrr, 'stan-mrr-prequential').fit(train.sessions).prequential(),
        stanMrr + '; test sessions join the index click by click',
        'prequential',
      );
      fitted(() => new Stan(hr, 'stan-hr').fit(train.sessions), stanHr);
      fitted(
        () => new Stan(hr, 'stan-hr-prequential').fit(train.sessions).prequential(),
        stanHr + '; test sessions join the index click by click',
        'prequential',
      );
    }
    models.push({
      model: new StreamingNextItem('streaming', streaming, recentItems, false),
      description:
        'this engine: trained by streaming the training file only (the row compared with the batch baselines)',
      fitSeconds: trainSeconds,
      form: 'batch',
    });
    models.push({
      model: new StreamingNextItem('streaming-prequential', prequential, recentItems, true),
      description:
        'the same model, also learning each test click after scoring it, test clicks in time order (as live)',
      fitSeconds: trainSeconds,
      form: 'prequential',
    });
    models.push({
      model: new StreamingNextItem('streaming-unseen-only', streaming, recentItems, false, true),
      description:
        'the streaming row with the items of the recent ring excluded, as a shop page would (a returning click cannot be hit)',
      fitSeconds: trainSeconds,
      form: 'batch',
    });

    const scores: ModelScore[] = [];
    for (const { model, description, fitSeconds, form } of models) {
      status.phase = `evaluating ${model.name}`;
      status.total = test.clicks;
      const t = performance.now();
      const order = model.learn === undefined ? 'session' : 'time';
      const s = evaluateNextItem(test.sessions, model, {
        cutoff,
        order,
        split: true,
        onProgress: (done) => (status.done = done),
      });
      scores.push({
        name: model.name,
        description,
        form,
        hitRate: s.hitRate,
        mrr: s.mrr,
        predictions: s.predictions,
        hits: s.hits,
        repeatTargets: s.byTarget!.repeat,
        otherTargets: s.byTarget!.other,
        seconds: round(fitSeconds + (performance.now() - t) / 1000),
      });
      await new Promise(setImmediate); // evaluation is synchronous: let the progress line draw
    }
    status.total = 0;
    return {
      cutoff,
      train: { file: opts.train, clicks: train.clicks, sessions: train.sessions.length, items: trainItems },
      test: {
        file: opts.test,
        clicks: test.clicks,
        sessions: test.sessions.length,
        itemsUnseenInTraining: items.size - trainItems,
      },
      models: scores,
      streaming: { config: streaming.config, recentItems, trainSeconds: round(trainSeconds), memory },
      comparison: compare(scores),
    };
  } finally {
    if (opts.progress !== false) line.stop(performance.now() - started > SHOW_PROGRESS_AFTER_MS);
  }
}

/**
 * Feeds the file to the model one click at a time in event-time order (a stable sort, so the
 * file's own order does not matter), each with its session's recent items, as a live engine
 * would see the clicks.
 */
async function learnFromFile(
  model: ItemNeighbours,
  file: string,
  items: ProductDictionary,
  recentItems: number,
  status: { done: number },
): Promise<void> {
  const clicks = [];
  for await (const click of readSessionClicks(file)) clicks.push(click);
  clicks.sort((a, b) => a.time - b.time);
  const recentBySession = new Map<string, number[]>();
  for (const click of clicks) {
    let recent = recentBySession.get(click.session);
    if (recent === undefined) recentBySession.set(click.session, (recent = []));
    const item = items.intern(click.item);
    model.observeView(recent, item, click.time * 1000);
    recent.push(item);
    if (recent.length > recentItems) recent.shift();
    status.done++;
  }
}

/** The streaming model behind the evaluator's interface, seeing what the engine would see. */
class StreamingNextItem implements NextItemModel {
  readonly learn: NextItemModel['learn'];

  constructor(
    readonly name: string,
    private readonly model: ItemNeighbours,
    private readonly recentItems: number,
    prequential: boolean,
    private readonly excludeRecent = false,
  ) {
    this.learn = prequential
      ? (prefix, item, ts) => this.model.observeView(prefix.slice(-this.recentItems), item, ts)
      : undefined;
  }

  recommend(prefix: readonly number[], k: number, now: number): readonly number[] {
    const recent = prefix.slice(-this.recentItems);
    return this.model.recommend(recent, this.excludeRecent ? recent : [], k, now).map((s) => s.item);
  }
}

function compare(scores: readonly ModelScore[]): EvalRecsReport['comparison'] {
  const by = (name: string): ModelScore => scores.find((s) => s.name === name)!;
  const ours = by('streaming');
  const pop = by('popularity');
  const form = (f: ModelScore['form'], streaming: string): FormComparison => {
    const us = by(streaming);
    const baselines = scores.filter((s) => s.form === f && !s.name.startsWith('streaming'));
    const best = (measure: (s: ModelScore) => number) => {
      const top = baselines.reduce((a, b) => (measure(b) > measure(a) ? b : a));
      return { baseline: top.name, ratio: round(measure(us) / measure(top)) };
    };
    return {
      streaming,
      bestHitRate: best((s) => s.hitRate),
      bestMrr: best((s) => s.mrr),
      otherTargetsBestHitRate: best((s) => s.otherTargets.hitRate),
      otherTargetsBestMrr: best((s) => s.otherTargets.mrr),
    };
  };
  return {
    hitRateVsPopularity: round(ours.hitRate / pop.hitRate),
    mrrVsPopularity: round(ours.mrr / pop.mrr),
    batch: form('batch', 'streaming'),
    prequential: form('prequential', 'streaming-prequential'),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
