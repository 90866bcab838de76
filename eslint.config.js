import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'test-artifacts/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Customer ids must not reach logs: console is for the CLI's own output only.
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Tool configs in CommonJS (dependency-cruiser's).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // The dashboard is a plain browser module served as-is (no bundler), so it sees the
    // browser's globals, and uPlot's from the script tag before it.
    files: ['src/server/dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'WebSocket',
          'fetch',
          'FormData',
          'URLSearchParams',
          'CSS',
          'ResizeObserver',
          'requestAnimationFrame',
          'setTimeout',
          'clearTimeout',
          'Intl',
          'performance',
          'addEventListener',
          'getComputedStyle',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
