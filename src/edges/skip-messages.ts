import type { RawMessage } from '../core/source.js';

/**
 * The messages after the first `count()` (read when iteration starts): how a deterministic
 * feed (the demo, a replayed file) resumes after the messages a checkpoint covers.
 */
export async function* skipMessages(
  runs: AsyncIterable<readonly RawMessage[]>,
  count: () => number,
): AsyncGenerator<readonly RawMessage[]> {
  let left = count();
  for await (const run of runs) {
    if (left >= run.length) {
      left -= run.length;
      continue;
    }
    yield left > 0 ? run.slice(left) : run;
    left = 0;
  }
}
