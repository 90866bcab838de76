import {
  concat,
  concatMap,
  defer,
  interval,
  map,
  merge,
  of,
  Subject,
  takeUntil,
  finalize,
  lastValueFrom,
  defaultIfEmpty,
} from 'rxjs';
import type { VigilConfig } from './config/schema.js';
import { newBatch } from '../core/batch.js';
import type { EngineBatch, EngineSink } from './engine-batch.js';

export type { EngineBatch, EngineSink };
import { pipeline, type PipelineClocks } from './pipeline.js';
import type { Source } from '../core/source.js';
import { EngineState } from './engine-state.js';

export interface RunOptions {
  readonly sinks?: readonly EngineSink[];
  /** Empty batches on this period keep idleness detection and timers moving on a quiet live source. */
  readonly heartbeatMs?: number;
  /**
   * Called once a batch has been handled by every sink and committed, with the number of
   * batches completed so far (checkpoints wait for the batches they cover).
   */
  readonly onBatchCompleted?: (completed: number) => void;
}

/** The engine: state, the operator graph, and the loop that feeds a source through them. */
export class Engine {
  readonly state: EngineState;
  /** Batches that have left the operator graph: the state reflects exactly these. */
  batchesApplied = 0;
  /** Batches whose sinks are done and whose input is committed. */
  batchesCompleted = 0;
  /** Highest stream sequence among the messages of the applied batches (0: none). */
  lastAppliedSeq = 0;

  constructor(
    readonly config: VigilConfig,
    private readonly clocks: PipelineClocks = {},
  ) {
    this.state = new EngineState(config);
  }

  /**
   * Runs a source to its end (a finite source) or until `source.stop()` (a live one).
   * A finite source's end is the end of event time: a last, empty batch moves the watermark
   * to the latest event, so every timer up to it fires.
   */
  async run(source: Source, opts: RunOptions = {}): Promise<void> {
    const sinks = opts.sinks ?? [];
    const sourceDone = new Subject<void>();
    const fromSource = source.batches().pipe(
      map((messages) => newBatch(messages)),
      finalize(() => sourceDone.next()),
    );
    const input = source.finite
      ? concat(
          fromSource,
          defer(() => of(newBatch([], true))),
        )
      : merge(
          fromSource,
          interval(opts.heartbeatMs ?? 1000).pipe(
            map(() => newBatch([])),
            takeUntil(sourceDone),
          ),
        );
    const done = input.pipe(
      pipeline(this.config, this.state, this.clocks),
      map((batch) => this.applied(batch)),
      concatMap(async (batch) => {
        for (const sink of sinks) await sink.handle(batch);
        if (batch.messages.length > 0) await source.commit(batch.messages);
        this.batchesCompleted++;
        opts.onBatchCompleted?.(this.batchesCompleted);
        return batch;
      }),
      defaultIfEmpty(undefined),
    );
    await lastValueFrom(done);
  }

  /** Notes the input position the state now covers; synchronous with the graph, so always consistent with it. */
  private applied(batch: EngineBatch): EngineBatch {
    this.batchesApplied++;
    for (const m of batch.messages) if (m.seq !== undefined && m.seq > this.lastAppliedSeq) this.lastAppliedSeq = m.seq;
    return batch;
  }
}
