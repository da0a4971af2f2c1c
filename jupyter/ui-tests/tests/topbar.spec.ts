/**
 * JupyterLab 4 with the server reading a fixture machine (RAPL packages and
 * DRAM): the top-bar items show figures, the panel opens from the command
 * palette and draws its charts, and a settings change relabels the item.
 */
import { expect, galata, test } from '@jupyterlab/galata';

import { CPU, GPU, EMISSIONS, keepScreenshot, powerTestOptions } from './helpers';

test.use(powerTestOptions(galata.DEFAULT_SETTINGS));

test.describe('Power Usage in JupyterLab', () => {
  test('the CPU item shows a power figure in the top bar', async ({ page }, testInfo) => {
    const cpu = page.locator(`#jp-top-bar ${CPU}`);
    await expect(cpu).toBeVisible();
    await expect(cpu.locator('.jp-PowerUsage-label')).toHaveText('CPU Power');
    // A number and a unit: the poll has answered with a sample that has `cpu`.
    await expect(cpu.locator('.jp-PowerUsage-value')).toHaveText(
      /^(≈ )?(<)?\d+(\.\d+)? (mW|W|kW)$/
    );
    await expect(cpu).not.toHaveClass(/jp-PowerUsage-unavailable/);
    await expect(cpu).toHaveAttribute('title', /Source: /);
    // No GPU on the fixture machine: no GPU item.
    await expect(page.locator(GPU)).toBeHidden();
    // The emissions item is there, with a figure or a dash explaining why.
    await expect(page.locator(EMISSIONS)).toBeVisible();
    await expect(page.locator(EMISSIONS)).toHaveAttribute('title', /.+/);
    await keepScreenshot(page, testInfo, 'topbar-fixture');
  });

  test('a click on the CPU item toggles its sparkline', async ({ page }, testInfo) => {
    const cpu = page.locator(CPU);
    const spark = cpu.locator('.jp-PowerUsage-sparkline');
    await expect(cpu.locator('.jp-PowerUsage-value')).toHaveText(/\d/);
    await expect(spark).toBeHidden();
    await cpu.locator('.jp-PowerUsage-main').click();
    await expect(spark).toBeVisible();
    // After a few polls the line has points.
    await expect(spark.locator('polyline')).toHaveAttribute('points', /\d+(\.\d+)?,\d/);
    await keepScreenshot(page, testInfo, 'sparkline');
    await cpu.locator('.jp-PowerUsage-main').click();
    await expect(spark).toBeHidden();
  });

  test('the panel opens from the command palette and draws its charts', async ({ page }, testInfo) => {
    // A running notebook kernel gives the kernels table a row.
    await page.notebook.createNew();
    await page.notebook.setCell(0, 'code', 'sum(i * i for i in range(200000))');
    await page.notebook.run();

    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#command-palette');
    await expect(palette).toBeVisible();
    await palette.locator('input').fill('Power Usage');
    await palette.locator('.lm-CommandPalette-item', { hasText: 'Power Usage' }).first().click();

    const panel = page.locator('.jp-PowerUsage-panel');
    await expect(panel).toBeVisible();
    await expect(page.locator('.lm-TabBar-tab', { hasText: 'Power Usage' })).toBeVisible();
    // uPlot draws on canvases inside its own root.
    await expect(panel.locator('.jp-PowerUsage-powerChart .uplot canvas').first()).toBeVisible();
    await expect(panel.locator('.jp-PowerUsage-energyChart .uplot canvas').first()).toBeVisible();
    await expect(panel).toHaveAttribute('data-points', /^[1-9]\d*$/);
    await expect(panel.locator('.jp-PowerUsage-figures')).toContainText('CPU');
    const row = panel.locator('tr.jp-PowerUsage-kernelRow');
    await expect(row.first()).toBeVisible();
    // The row names the notebook the kernel belongs to.
    await expect(row.first()).toContainText(/\.ipynb/);
    await keepScreenshot(page, testInfo, 'panel');
  });

  test('sensors the machine does not have are listed quietly, not as problems', async ({ page }, testInfo) => {
    // The fixture machine has RAPL but no NVIDIA driver, hwmon or perf PMU:
    // the CPU is measured, so nothing there is a problem.
    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#command-palette');
    await palette.locator('input').fill('Power Usage');
    await palette.locator('.lm-CommandPalette-item', { hasText: 'Power Usage' }).first().click();
    const panel = page.locator('.jp-PowerUsage-panel');
    await expect(panel.locator('.jp-PowerUsage-figures')).toContainText('source rapl');
    const quiet = panel.locator('.jp-PowerUsage-notFound');
    await expect(quiet).toBeVisible();
    await expect(quiet).toContainText('Not found on this machine');
    await expect(quiet.locator('li[data-sensor="nvml"]')).toContainText('NVIDIA');
    await expect(panel.locator('.jp-PowerUsage-problems')).toHaveCount(0);
    // Muted, not the warning colour.
    const colours = await quiet.evaluate(node => {
      const probe = document.createElement('span');
      probe.style.color = 'var(--jp-warn-color1)';
      document.body.appendChild(probe);
      const warn = getComputedStyle(probe).color;
      probe.remove();
      return { list: getComputedStyle(node).color, warn };
    });
    expect(colours.list).not.toBe(colours.warn);
    await keepScreenshot(page, testInfo, 'panel-not-found');
  });

  test('changing the cpu.label setting changes the label', async ({ page }, testInfo) => {
    const label = page.locator(`${CPU} .jp-PowerUsage-label`);
    await expect(label).toHaveText('CPU Power');
    await page.evaluate(async () => {
      const registry = await window.galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry!.set('jupyter-power-usage:plugin', 'cpu', { label: 'Package power' });
    });
    await expect(label).toHaveText('Package power');
    await keepScreenshot(page, testInfo, 'label-changed');
  });

  test('the bar can be turned off in the settings', async ({ page }) => {
    const cpu = page.locator(CPU);
    await expect(cpu.locator('.jp-PowerUsage-value')).toHaveText(/\d/);
    await page.evaluate(async () => {
      const registry = await window.galata.getPlugin('@jupyterlab/apputils-extension:settings');
      await registry!.set('jupyter-power-usage:plugin', 'indicatorBarDisabled', true);
    });
    await expect(cpu.locator('.jp-PowerUsage-bar')).toBeHidden();
  });
});

test.describe('Power Usage in Notebook 7', () => {
  // Galata's page helpers wait for JupyterLab's app; Notebook 7's /tree and
  // /notebooks pages are driven here through a plain page of the same context.
  test.use({ autoGoto: false });

  test('the tree page and an opened notebook show the cpu_power item', async ({ page, context, baseURL, tmpPath }, testInfo) => {
    await page.contents.uploadContent(
      JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }),
      'text',
      `${tmpPath}/nb7.ipynb`
    );
    const nb7 = await context.newPage();
    await nb7.goto(`${baseURL}/tree/${tmpPath}`);
    await expect(nb7.locator('#main-panel')).toBeVisible();
    expect(nb7.url()).not.toContain('/lab');
    const cpu = nb7.locator(CPU);
    await expect(cpu).toBeVisible();
    await expect(cpu.locator('.jp-PowerUsage-label')).toHaveText('CPU Power');
    await expect(cpu.locator('.jp-PowerUsage-value')).toHaveText(/\d/);
    // The emissions item too, with the server's grams.
    await expect(nb7.locator(EMISSIONS)).toBeVisible();
    await expect(nb7.locator(`${EMISSIONS} .jp-PowerUsage-value`)).toHaveText(/\d (mg|g|kg|t)$/);
    await keepScreenshot(nb7, testInfo, 'notebook7-tree');

    await nb7.goto(`${baseURL}/notebooks/${tmpPath}/nb7.ipynb`);
    await expect(nb7.locator('.jp-NotebookPanel')).toBeVisible();
    expect(nb7.url()).toContain('/notebooks/');
    await expect(nb7.locator(CPU)).toBeVisible();
    await expect(nb7.locator(`${CPU} .jp-PowerUsage-value`)).toHaveText(/\d/);
    await keepScreenshot(nb7, testInfo, 'notebook7-notebook');
    await nb7.close();
  });

  test('the panel opens beside the notebook, full height, where it can be read', async ({ page, context, baseURL, tmpPath }, testInfo) => {
    // With a kernelspec the notebook starts its kernel without asking (no modal dialog).
    const metadata = {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' }
    };
    await page.contents.uploadContent(
      JSON.stringify({ cells: [], metadata, nbformat: 4, nbformat_minor: 5 }),
      'text',
      `${tmpPath}/nb7-panel.ipynb`
    );
    const nb7 = await context.newPage();
    await nb7.setViewportSize({ width: 1440, height: 900 });
    await nb7.goto(`${baseURL}/notebooks/${tmpPath}/nb7-panel.ipynb`);
    await expect(nb7.locator('.jp-NotebookPanel')).toBeVisible();
    // A click on the emissions item opens the panel.
    await expect(nb7.locator(`${EMISSIONS} .jp-PowerUsage-value`)).toHaveText(/\d/);
    await nb7.locator(`${EMISSIONS} .jp-PowerUsage-main`).click();

    const panel = nb7.locator('.jp-PowerUsage-panel');
    await expect(panel).toBeVisible();
    // In Notebook 7's right side panel, beside the notebook, which stays open.
    await expect(nb7.locator('#jp-right-stack .jp-PowerUsage-panel')).toBeVisible();
    await expect(nb7.locator('#main-panel .jp-NotebookPanel')).toBeVisible();
    const box = await panel.boundingBox();
    const notebook = await nb7.locator('#main-panel').boundingBox();
    expect(box).not.toBeNull();
    expect(notebook).not.toBeNull();
    // Not a strip below the notebook: the panel is beside it and most of the window high.
    expect(box!.x).toBeGreaterThanOrEqual(notebook!.x + notebook!.width - 1);
    expect(box!.height).toBeGreaterThan(0.6 * 900);
    expect(box!.width).toBeGreaterThanOrEqual(300);
    await expect(panel.locator('.jp-PowerUsage-figures')).toContainText('CPU');
    await expect(panel.locator('.jp-PowerUsage-powerChart .uplot canvas').first()).toBeVisible();
    await expect(panel).toHaveAttribute('data-points', /^[1-9]\d*$/);
    await keepScreenshot(nb7, testInfo, 'notebook7-panel');
    await nb7.close();
  });
});
