import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.tools/**', '.data/**', 'reports/**', 'coverage/**', '**/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Command-line tools, benchmarks and scripts talk to a terminal.
    files: [
      '**/bench/**',
      '**/src/cli.ts',
      '**/src/cli/**',
      '**/scripts/**',
      'chaos/src/**',
      'packages/loadgen/src/**',
    ],
    rules: { 'no-console': 'off' },
  },
);
