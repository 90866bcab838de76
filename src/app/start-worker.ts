import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a module next to the caller, named without extension
 * (`startWorker(import.meta.url, './checkpoint-writer-thread')`). Built code runs the `.js`
 * file. From TypeScript sources (tests, `tsx`) a worker inherits no loader and Node 20
 * ignores `--import` in a worker's execArgv, so a bootstrap registers tsx in the thread
 * and then imports the `.ts` file.
 */
export function startWorker(callerUrl: string, relative: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`${relative}.js`, callerUrl), options);
  const url = new URL(`${relative}.ts`, callerUrl).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
