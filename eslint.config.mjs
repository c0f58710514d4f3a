// ESLint for lib/, spec/, examples/ and bench/: typescript-eslint's strict, type-aware rules,
// with formatting left to Prettier. Run by `npm test` (through `npm run lint`).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'docs/', 'node_modules/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Messages quote numbers and flags all the time; `${count}` reads better than String(count).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => counter.inc()` is the idiom of callbacks that return nothing.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // It asks for `value!` where strict mode forbids `!` (no-non-null-assertion): the two
      // cannot both hold. Hot loops read typed arrays under noUncheckedIndexedAccess with
      // `as number`, which says what the value is.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // Names that start with _ are deliberately unused (a parameter a callback signature has).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
