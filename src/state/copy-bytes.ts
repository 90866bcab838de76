/**
 * How a snapshot copies a live buffer. The default allocates a fresh copy, which is what a
 * one-off snapshot wants. A checkpoint instead copies into buffers it keeps from one
 * checkpoint to the next (`CaptureArena`): their pages are already mapped, so the copy is a
 * plain memcpy and the engine's pause for a consistent capture stays short.
 *
 * Contract: the result holds the same bytes as `bytes` and shares no memory with it.
 */
export type CopyBytes = (bytes: Uint8Array) => Uint8Array;

export const freshCopy: CopyBytes = (bytes) => bytes.slice();
