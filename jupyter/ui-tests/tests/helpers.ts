import type { Page, TestInfo } from '@playwright/test';

/** A full-page screenshot kept as an artefact of the test (in test-results/ and the report). */
export async function keepScreenshot(
  page: Page,
  testInfo: TestInfo,
  name: string
): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** The CPU top-bar item. */
export const CPU = '.jp-PowerUsage-indicator.jp-PowerUsage-cpu';
export const GPU = '.jp-PowerUsage-indicator.jp-PowerUsage-gpu';
export const EMISSIONS = '.jp-PowerUsage-indicator.jp-PowerUsage-emissions';

/**
 * Options every test here uses.
 * - mockUser off: Galata's user mock intercepts every URL matching /.*\/api\/me.*\/
 *   (galata.js, Routes.user), which also catches /api/metrics/... and would answer
 *   our power endpoint with the mocked identity.
 * - refreshRate 1000 (the floor) so figures arrive within a second or two.
 */
export function powerTestOptions(galataDefaults: Record<string, unknown>) {
  return {
    mockUser: false,
    mockSettings: {
      ...galataDefaults,
      'jupyter-power-usage:plugin': { refreshRate: 1000 }
    }
  };
}
