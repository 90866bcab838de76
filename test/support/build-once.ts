import { execFileSync } from 'node:child_process';

/** Vitest global setup: tests that run the `vigil` CLI use the built dist/, built once here. */
export default function buildOnce(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
