import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readCdnowPurchases } from '../../ingest/adapters/cdnow.js';
import { VigilError } from '../../core/errors.js';

export const IMPORT_FORMATS = ['cdnow'] as const;

/** `vigil import cdnow IN --out OUT`: a public data set → canonical events as JSON Lines. */
export async function importEvents(format: string, input: string, out: string): Promise<number> {
  if (format !== 'cdnow') throw new VigilError('VIGIL_ERR_USAGE', `import knows: ${IMPORT_FORMATS.join(', ')}`);
  const events = readCdnowPurchases(input);
  const stream = out === '-' ? process.stdout : createWriteStream(out);
  for (const e of events) {
    if (!stream.write(JSON.stringify(e) + '\n')) await once(stream, 'drain');
  }
  if (stream !== process.stdout) {
    stream.end();
    await once(stream, 'finish');
  }
  return events.length;
}
