/**
 * Galata UI tests, run headless in Debian's Chromium (Playwright's own browser
 * download is not reachable here, nor its ffmpeg: video is off).
 *
 * Three servers: the default one reads a fixture machine with RAPL counters;
 * the "vm" one reads this VM's real /sys, where nothing can be measured and
 * the engine estimates; the "jpud" one (jpud_server.py) runs as an
 * unprivileged account on a fixture machine whose counters are root-only,
 * with the node daemon jpud serving them. The last needs root and a built
 * jpud (build/daemon/jpud, or JPUD_BIN); without them its tests skip and say why.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const CHROMIUM = process.env.JPU_CHROMIUM || '/usr/bin/chromium';
const LAB_PORT = Number(process.env.JPU_UI_PORT || 8765);
const VM_PORT = LAB_PORT + 1;
const JPUD_PORT = LAB_PORT + 2;
const JPUD_CONTROL_PORT = LAB_PORT + 3;

const REPO = path.resolve(__dirname, '..', '..');
const JPUD_BIN =
  process.env.JPUD_BIN ||
  path.join(process.env.JPU_BUILD_DIR || path.join(REPO, 'build'), 'daemon', 'jpud');

/** Why the jpud server cannot run here, or '' when it can. */
function jpudSkipReason() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the jpud server needs root (it starts jpud and runs Jupyter as another account)';
  }
  if (!fs.existsSync(JPUD_BIN)) {
    return `no jpud at ${JPUD_BIN} (ninja -C build, or set JPUD_BIN)`;
  }
  // Jupyter runs there as an account of its own: it must be able to run this Python
  // (not one under /root) and read this folder. Tried as nobody, who has the same rights.
  const probe = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'python', '-c',
      'import sys, jupyterlab, jupyter_power_usage; open(sys.argv[1]).close()',
      path.join(__dirname, 'jupyter_server_test_config.py')],
    { cwd: '/', encoding: 'utf8', timeout: 60 * 1000 }
  );
  if (probe.status !== 0) {
    const why = (probe.stderr || String(probe.error || '')).trim().split('\n').pop();
    return `an unprivileged account cannot run this Python or read ${__dirname}: ${why}`;
  }
  return '';
}
// Read by tests/jpud.spec.ts. Workers inherit the runner's environment: decided once.
if (process.env.JPU_UI_JPUD_SKIP === undefined) {
  process.env.JPU_UI_JPUD_SKIP = jpudSkipReason();
}
process.env.JPU_UI_JPUD_CONTROL = `http://127.0.0.1:${JPUD_CONTROL_PORT}`;

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
    // SIGTERM, not SIGKILL: the server's exit handlers remove its fixture copy.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 30 * 1000 },
    env: { ...process.env, ...env }
  };
}

const webServer = [server(LAB_PORT, {}), server(VM_PORT, { JPU_TEST_SYSFS: '/sys' })];
if (!process.env.JPU_UI_JPUD_SKIP) {
  webServer.push({
    ...server(JPUD_PORT, { JPUD_BIN }),
    // It stops jpud and Jupyter on SIGTERM, and removes its account and folder.
    command: `python jpud_server.py ${JPUD_PORT} ${JPUD_CONTROL_PORT}`
  });
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
      testIgnore: /(vm|jpud)\.spec\.ts/,
      use: { baseURL: `http://localhost:${LAB_PORT}` }
    },
    {
      name: 'vm',
      testMatch: /vm\.spec\.ts/,
      use: { baseURL: `http://localhost:${VM_PORT}` }
    },
    {
      name: 'jpud',
      testMatch: /jpud\.spec\.ts/,
      use: { baseURL: `http://localhost:${JPUD_PORT}` }
    }
  ],
  webServer
};
