/**
 * Carbon in JupyterLab 4 (issue 4), against the fixture machine's server:
 * the emissions item shows the server's grams and where the intensity comes
 * from; the `emissions.*` settings reach the server (PUT .../carbon) and
 * change the zone it reports, a bad one is named in the tooltip; the panel
 * has emissions per notebook and an intensity plot; `%%energy` prints its
 * line in a notebook.
 */
import { expect, galata, test } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';

import { EMISSIONS, keepScreenshot, powerTestOptions } from './helpers';

test.use(powerTestOptions(galata.DEFAULT_SETTINGS));

const PLUGIN = 'jupyter-power-usage:plugin';
const CARBON_API = '/api/metrics/v1/power_usage/carbon';
/** A mass as format.ts writes it: `<0.01 mg`, `42.1 mg`, `1.25 g`... */
const MASS = /^(<0\.01 mg|\d+(\.\d+)? (mg|g|kg|t))$/;

const DEFAULT_EMISSIONS = {
  source: '',
  emapsAccessToken: '',
  countryCode: '',
  refreshRate: 1800000,
  factor: 475
};

/** Grams from a figure as format.ts writes it (`<0.01 mg` reads as 0). */
function grams(text: string): number {
  const m = /^<?(\d+(?:\.\d+)?) (mg|g|kg|t)$/.exec(text.trim());
  if (!m || text.startsWith('<')) {
    return 0;
  }
  const factor: { [unit: string]: number } = { mg: 1e-3, g: 1, kg: 1e3, t: 1e6 };
  return Number(m[1]) * factor[m[2]];
}

async function setEmissions(page: Page, value: Record<string, unknown>): Promise<void> {
  await page.evaluate(
    async ({ plugin, value }) => {
      const registry = await window.galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry!.set(plugin, 'emissions', value as any);
    },
    { plugin: PLUGIN, value }
  );
}

async function openPanel(page: Page): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.locator('input').fill('Power Usage');
  await palette.locator('.lm-CommandPalette-item', { hasText: 'Power Usage' }).first().click();
}

test.describe('Carbon in JupyterLab', () => {
  test('the emissions item shows the server grams, intensity, source and zone', async ({ page }, testInfo) => {
    const item = page.locator(`#jp-top-bar ${EMISSIONS}`);
    await expect(item).toBeVisible();
    const value = item.locator('.jp-PowerUsage-value');
    await expect(value).toHaveText(MASS);
    await expect(item).not.toHaveClass(/jp-PowerUsage-noData/);
    // The front end sent the defaults on load: the server's settings, here the World average.
    await expect(item).toHaveAttribute('title', /^Emissions so far: .+ CO₂e \(scope: process\)$/m);
    await expect(item).toHaveAttribute('title', /^Carbon intensity: \d+(\.\d+)? gCO₂e\/kWh/m);
    await expect(item).toHaveAttribute('title', /^Source: table$/m);
    await expect(item).toHaveAttribute('title', /^Zone: World$/m);
    await expect(item).toHaveAttribute('title', /^Basis: lifecycle/m);
    await expect(item).toHaveAttribute('title', /^Data time: \S/m);
    await expect(item.locator('.jp-PowerUsage-warning')).toBeHidden();
    await keepScreenshot(page, testInfo, 'emissions-item');

    // The grams are the server's running total: a reload does not start them again.
    await expect.poll(async () => grams((await value.textContent()) ?? '')).toBeGreaterThan(0);
    const before = grams((await value.textContent()) ?? '');
    await page.reload();
    await expect(value).toHaveText(MASS);
    expect(grams((await value.textContent()) ?? '')).toBeGreaterThanOrEqual(before);
  });

  test('emissions.countryCode changes the zone the server reports', async ({ page, request }, testInfo) => {
    const item = page.locator(EMISSIONS);
    await expect(item).toHaveAttribute('title', /^Zone: World$/m);

    await setEmissions(page, { ...DEFAULT_EMISSIONS, source: 'table', countryCode: 'DE' });
    // The server took it (its GET shows the setting in force) and its samples now say DE.
    await expect
      .poll(async () => (await (await request.get(CARBON_API)).json()).countryCode)
      .toBe('DE');
    await expect(item).toHaveAttribute('title', /^Zone: DE$/m);
    await expect(item).toHaveAttribute('title', /^Source: table$/m);
    await expect(item.locator('.jp-PowerUsage-value')).toHaveText(MASS);
    await keepScreenshot(page, testInfo, 'emissions-zone-de');

    // A code the server refuses: the tooltip names the setting; the server keeps DE.
    await setEmissions(page, { ...DEFAULT_EMISSIONS, source: 'table', countryCode: 'DEU' });
    await expect(item).toHaveAttribute(
      'title',
      /Carbon setting emissions\.countryCode refused by the server: 'DEU' is not an ISO 3166-1/
    );
    await expect(item).toHaveClass(/jp-PowerUsage-settingsProblem/);
    await expect(item.locator('.jp-PowerUsage-warning')).toBeVisible();
    expect((await (await request.get(CARBON_API)).json()).countryCode).toBe('DE');
    await keepScreenshot(page, testInfo, 'emissions-refused');

    // Back to the server's settings.
    await setEmissions(page, DEFAULT_EMISSIONS);
    await expect(item).toHaveAttribute('title', /^Zone: World$/m);
    await expect(item).not.toHaveClass(/jp-PowerUsage-settingsProblem/);
    expect((await (await request.get(CARBON_API)).json()).fromBrowser).toBe(true);
  });

  test('a 403 (settings fixed by the administrator) is said in the tooltip and the panel', async ({ page }, testInfo) => {
    // The server's own 403 is tested against a real server in test_carbon.py; here the
    // browser gets that answer (same body) to check what the page shows with it.
    // ServerConnection adds a cache-busting query string: match the path, any query.
    await page.route(/\/api\/metrics\/v1\/power_usage\/carbon(\?.*)?$/, async route => {
      if (route.request().method() !== 'PUT') {
        return route.continue();
      }
      return route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({
          error:
            'this server does not take carbon settings from the browser ' +
            '(PowerUsageDisplay.allow_client_carbon_settings is False)',
          field: null
        })
      });
    });
    const item = page.locator(EMISSIONS);
    await expect(item.locator('.jp-PowerUsage-value')).toHaveText(MASS);
    await setEmissions(page, { ...DEFAULT_EMISSIONS, countryCode: 'DE' });
    await expect(item).toHaveAttribute('title', /administrator fixed these settings/);
    await expect(item).toHaveAttribute('title', /allow_client_carbon_settings is False/);
    await expect(item.locator('.jp-PowerUsage-warning')).toBeVisible();
    // The figures stay the server's.
    await expect(item).toHaveAttribute('title', /^Zone: World$/m);
    await openPanel(page);
    await expect(page.locator('.jp-PowerUsage-panel .jp-PowerUsage-notice')).toContainText(
      'administrator fixed these settings'
    );
    await keepScreenshot(page, testInfo, 'emissions-403');
  });

  test('the panel shows emissions per notebook and plots intensity and emissions', async ({ page }, testInfo) => {
    await page.notebook.createNew();
    await page.notebook.setCell(0, 'code', 'sum(i * i for i in range(300000))');
    await page.notebook.run();

    await openPanel(page);
    const panel = page.locator('.jp-PowerUsage-panel');
    await expect(panel).toBeVisible();
    await expect(panel.locator('th.jp-PowerUsage-emissionsCol')).toHaveText('CO₂e');
    const row = panel.locator('tr.jp-PowerUsage-kernelRow').first();
    await expect(row).toContainText(/\.ipynb/);
    await expect(row.locator('td.jp-PowerUsage-emissionsCol')).toHaveText(MASS);
    await expect(panel.locator('.jp-PowerUsage-intensityChart .uplot canvas').first()).toBeVisible();
    await expect(panel.locator('.jp-PowerUsage-emissionsChart .uplot canvas').first()).toBeVisible();
    // History samples carry the intensity: the plot has points.
    await expect(panel).toHaveAttribute('data-intensity-points', /^[1-9]\d*$/);
    await expect(panel.locator('.jp-PowerUsage-figures')).toContainText('Emissions so far');
    await keepScreenshot(page, testInfo, 'panel-emissions');
  });

  test('a %%energy cell prints its one-line summary', async ({ page }, testInfo) => {
    await page.notebook.createNew();
    await page.notebook.setCell(0, 'code', '%load_ext jpu');
    await page.notebook.addCell(
      'code',
      '%%energy\ntotal = 0\nfor i in range(2_000_000):\n    total += i * i'
    );
    await page.notebook.run();
    const output = page.locator('.jp-Cell').nth(1).locator('.jp-OutputArea-output');
    await expect(output).toContainText(/energy: .*\d J in .* s .*\| CO2: /);
    const text = (await output.textContent()) ?? '';
    expect(text).toContain(' J ');
    expect(text).toContain('CO2');
    expect(text).toMatch(/g\/kWh/);
    await keepScreenshot(page, testInfo, 'energy-magic');
  });
});
