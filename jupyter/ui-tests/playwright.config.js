/**
 * Galata UI tests, run headless in Debian's Chromium (Playwright's own browser
 * download is not reachable here, nor its ffmpeg: video is off).
 *
 * Two servers: the default one reads a fixture machine with RAPL counters;
 * the "vm" one reads this VM's real /sys, where nothing can be measured and
 * the engine estimates.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const CHROMIUM = process.env.JPU_CHROMIUM || '/usr/bin/chromium';
const LAB_PORT = Number(process.env.JPU_UI_PORT || 8765);
const VM_PORT = LAB_PORT + 1;

const launchOptions = {
  executablePath: CHROMIUM,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run'
  ]
};

function server(port, env) {
  return {
    command: `jlpm start --ServerApp.port=${port}`,
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI,
    env: { ...process.env, ...env }
  };
}

module.exports = {
  ...baseConfig,
  timeout: 120 * 1000,
  expect: { timeout: 30 * 1000 },
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    headless: true,
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions
  },
  projects: [
    {
      name: 'fixture',
      testIgnore: /vm\.spec\.ts/,
      use: { baseURL: `http://localhost:${LAB_PORT}` }
    },
    {
      name: 'vm',
      testMatch: /vm\.spec\.ts/,
      use: { baseURL: `http://localhost:${VM_PORT}` }
    }
  ],
  webServer: [server(LAB_PORT, {}), server(VM_PORT, { JPU_TEST_SYSFS: '/sys' })]
};
