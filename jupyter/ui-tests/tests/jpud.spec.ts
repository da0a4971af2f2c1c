/**
 * JupyterLab on the node daemon jpud (jpud_server.py): the Jupyter server runs
 * as an unprivileged account on a fixture machine whose RAPL counters are
 * root-only, so it cannot measure by itself; jpud reads them and serves them
 * on its socket. The top bar must show a measured figure (no ≈) and say it
 * comes from the node daemon, in the tooltip and in the panel. With jpud
 * stopped the figures fall back to this server's estimate with the reason,
 * with no failed request and no error state, and they are measured again
 * when jpud returns, the energy total never going back.
 */
import type { Locator, Page, TestInfo } from '@playwright/test';

import { expect, galata, test } from '@jupyterlab/galata';

import { CPU, keepScreenshot, powerTestOptions } from './helpers';

test.use(powerTestOptions(galata.DEFAULT_SETTINGS));

const SKIP = process.env.JPU_UI_JPUD_SKIP ?? '';
const CONTROL = process.env.JPU_UI_JPUD_CONTROL ?? '';
const API = '/api/metrics/v1/power_usage';
const MEASURED = /^<?\d+(\.\d+)? (mW|W|kW)$/;

test.skip(!!SKIP, SKIP);

interface IJpudStatus {
  running: boolean;
  socket: string;
  account: string;
}

/** Stop or start jpud, or ask whether it runs, through jpud_server.py's control endpoint. */
async function jpud(action: 'stop' | 'start' | 'status'): Promise<IJpudStatus> {
  const r = await fetch(`${CONTROL}/jpud/${action}`);
  const body = await r.json();
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body as IJpudStatus;
}

/** The server's current answer, as the front end gets it. */
async function sample(page: Page): Promise<any> {
  const r = await page.request.get(API);
  expect(r.status()).toBe(200);
  return r.json();
}

/**
 * The tooltip is the item's title, which headless Chromium does not paint:
 * show the same text in a box under the item for the screenshot, then remove it.
 */
async function keepTooltip(
  page: Page,
  item: Locator,
  testInfo: TestInfo,
  name: string
): Promise<void> {
  await item.hover();
  await item.evaluate(node => {
    const box = document.createElement('div');
    box.id = 'jpu-test-tooltip';
    box.textContent = node.getAttribute('title');
    const r = node.getBoundingClientRect();
    Object.assign(box.style, {
      position: 'fixed',
      top: `${r.bottom + 4}px`,
      right: '8px',
      maxWidth: '720px',
      whiteSpace: 'pre-wrap',
      font: '12px sans-serif',
      background: '#ffffe1',
      color: '#000',
      border: '1px solid #767676',
      padding: '4px 6px',
      zIndex: '100000'
    });
    document.body.appendChild(box);
  });
  await keepScreenshot(page, testInfo, name);
  await page.evaluate(() => document.getElementById('jpu-test-tooltip')?.remove());
}

async function openPanel(page: Page): Promise<Locator> {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.locator('input').fill('Power Usage');
  await palette.locator('.lm-CommandPalette-item', { hasText: 'Power Usage' }).first().click();
  const panel = page.locator('.jp-PowerUsage-panel');
  await expect(panel).toBeVisible();
  return panel;
}

test.describe('Power Usage on the node daemon jpud', () => {
  test.beforeEach(async () => {
    // Whatever a test before did, each starts with jpud running.
    expect((await jpud('start')).running).toBe(true);
  });

  test('the top bar shows a measured figure from the node daemon', async ({ page }, testInfo) => {
    const { socket } = await jpud('status');
    // The server, which cannot read the counters itself, answers measured figures through jpud.
    await expect
      .poll(async () => {
        const s = await sample(page);
        return [s.origin?.kind, s.origin?.socket, s.cpu?.source];
      })
      .toEqual(['daemon', socket, 'rapl']);

    const cpu = page.locator(`#jp-top-bar ${CPU}`);
    const value = cpu.locator('.jp-PowerUsage-value');
    await expect(value).toHaveText(MEASURED);
    await expect(cpu).not.toHaveClass(/jp-PowerUsage-estimated/);
    await expect(cpu).not.toHaveClass(/jp-PowerUsage-stale/);
    await expect(cpu).toHaveAttribute('title', /Source: rapl/);
    await expect(cpu).toHaveAttribute(
      'title',
      new RegExp(`From: the node daemon jpud \\(${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`)
    );
    await expect(cpu).not.toHaveAttribute('title', /not used now|estimated/);
    await keepTooltip(page, cpu, testInfo, 'jpud-tooltip');
  });

  test('the panel says the figures come from the node daemon', async ({ page }, testInfo) => {
    const panel = await openPanel(page);
    const origin = panel.locator('.jp-PowerUsage-origin');
    await expect(origin).toHaveAttribute('data-kind', 'daemon');
    await expect(origin).toContainText('From: the node daemon jpud');
    await expect(panel.locator('.jp-PowerUsage-originReason')).toHaveCount(0);
    await expect(panel.locator('.jp-PowerUsage-figures')).toContainText('source rapl');
    // Measured: no estimate headline among the problems.
    await expect(panel.locator('.jp-PowerUsage-problemHeadline')).toHaveCount(0);
    await expect(panel).toHaveAttribute('data-points', /^[1-9]\d*$/);
    await keepScreenshot(page, testInfo, 'jpud-panel');
  });

  test('jpud stopped: the estimate with the reason, then measured again', async ({ page }, testInfo) => {
    const failed: string[] = [];
    page.on('response', r => {
      if (r.url().includes(API) && r.status() >= 400) {
        failed.push(`${r.status()} ${r.url()}`);
      }
    });
    const cpu = page.locator(`#jp-top-bar ${CPU}`);
    const value = cpu.locator('.jp-PowerUsage-value');
    await expect(value).toHaveText(MEASURED);
    const before = (await sample(page)).energy_j?.total;
    expect(typeof before).toBe('number');

    expect((await jpud('stop')).running).toBe(false);
    // This server's own estimate: it cannot read the root-only counters.
    await expect(value).toHaveText(/^≈ /, { timeout: 60 * 1000 });
    await expect(cpu).toHaveClass(/jp-PowerUsage-estimated/);
    await expect(cpu).not.toHaveClass(/jp-PowerUsage-stale|jp-PowerUsage-unavailable/);
    await expect(cpu).toHaveAttribute('title', /From: this Jupyter server \(in-process\)/);
    await expect(cpu).toHaveAttribute('title', /The node daemon is not used now: .+/);
    await expect(cpu).toHaveAttribute('title', /For measured figures: .+/);
    const fallback = await sample(page);
    expect(fallback.origin?.kind).toBe('server');
    expect(fallback.origin?.reason).toBeTruthy();
    expect(fallback.cpu?.source).toBe('estimate');
    expect(fallback.energy_j?.total).toBeGreaterThanOrEqual(before);
    await keepTooltip(page, cpu, testInfo, 'jpud-stopped-tooltip');
    const panel = await openPanel(page);
    await expect(panel.locator('.jp-PowerUsage-origin')).toHaveAttribute('data-kind', 'server');
    await expect(panel.locator('.jp-PowerUsage-originReason')).toContainText(
      'The node daemon is not used now'
    );
    await expect(panel.locator('.jp-PowerUsage-problemHeadline')).toContainText(
      'For measured figures'
    );
    await expect(panel.locator('.jp-PowerUsage-problemHeadline')).not.toContainText(
      'no power sensor of this machine can be read by this server'
    );
    await keepScreenshot(page, testInfo, 'jpud-stopped-panel');

    expect((await jpud('start')).running).toBe(true);
    await expect(value).toHaveText(MEASURED, { timeout: 60 * 1000 });
    await expect(cpu).toHaveAttribute('title', /From: the node daemon jpud/);
    await expect(panel.locator('.jp-PowerUsage-origin')).toHaveAttribute('data-kind', 'daemon');
    const after = await sample(page);
    expect(after.origin?.kind).toBe('daemon');
    expect(after.energy_j?.total).toBeGreaterThanOrEqual(fallback.energy_j.total);
    expect(failed).toEqual([]);
  });
});
