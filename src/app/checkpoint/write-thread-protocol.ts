import type { ErrorCode } from '../../core/errors.js';

/** Engine thread → checkpoint writer thread: one checkpoint is `begin`, its pieces in order, `end` (or `abort`). Ids are shared by writes and touches. */
export type ToWriter =
  | { op: 'begin'; id: number; name: string }
  | { op: 'piece'; id: number; bytes: Uint8Array }
  | { op: 'end'; id: number }
  | { op: 'abort'; id: number; message: string }
  /** Map the pages of these (zeroed, unused) capture buffers: the page faults are taken here. */
  | { op: 'touch'; id: number; memory: SharedArrayBuffer[] };

/** Writer thread → engine thread: how a checkpoint's write ended. */
export type FromWriter =
  | { op: 'written'; id: number; sha256: string }
  | { op: 'failed'; id: number; code: ErrorCode | undefined; message: string; details: string[] }
  | { op: 'touched'; id: number };
