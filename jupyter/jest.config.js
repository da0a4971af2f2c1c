/* Unit tests for the model and the number formatting: ts-jest on a jsdom page.
 * They import only modules that do not pull in JupyterLab's ES-module packages,
 * so no transform of node_modules is needed. */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      { tsconfig: { module: 'commonjs', esModuleInterop: true, strict: true } }
    ]
  },
  setupFiles: ['<rootDir>/jest.setup.js'],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  collectCoverageFrom: [
    'src/model.ts',
    'src/format.ts',
    'src/settings.ts',
    'src/topbar.ts',
    'src/diagnostics.ts',
    'src/panel.ts'
  ]
};
