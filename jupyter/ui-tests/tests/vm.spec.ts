/**
 * JupyterLab 4 with the server reading this machine's real /sys. On a VM (as
 * in CI) there is no powercap, hwmon or GPU: the engine estimates the CPU
 * power, and the item must say so. On real hardware the figure is measured
 * and the test checks that no estimated mark is shown instead.
 */
import * as fs from 'fs';

import { expect, galata, test } from '@jupyterlab/galata';

import { CPU, keepScreenshot, powerTestOptions } from './helpers';

test.use(powerTestOptions(galata.DEFAULT_SETTINGS));

const hasPowercap = fs.existsSync('/sys/class/powercap');

test('on a VM the CPU figure carries the estimated mark', async ({ page }, testInfo) => {
  const cpu = page.locator(CPU);
  await expect(cpu).toBeVisible();
  const value = cpu.locator('.jp-PowerUsage-value');
  await expect(value).toHaveText(/\d/);
  if (hasPowercap) {
    test.info().annotations.push({ type: 'note', description: 'RAPL present: measured, not estimated' });
    await expect(value).not.toHaveText(/^≈/);
  } else {
    await expect(value).toHaveText(/^≈ /);
    await expect(cpu).toHaveClass(/jp-PowerUsage-estimated/);
    await expect(cpu).toHaveAttribute('title', /\(estimated\)/);
  }
  await keepScreenshot(page, testInfo, 'topbar-vm');
});
