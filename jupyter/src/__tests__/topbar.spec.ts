import { Widget } from '@lumino/widgets';

import { PowerUsageModel } from '../model';
import { SettingsState } from '../settings';
import {
  EmissionsIndicator,
  PowerIndicator,
  barLevel,
  sparklinePoints
} from '../topbar';
import { ISample, SampleResult } from '../types';

let result: SampleResult;

async function setup(r: SampleResult) {
  result = r;
  const model = new PowerUsageModel({
    fetchSample: async () => result,
    refreshRate: 1000
  });
  const settings = new SettingsState();
  const opened = jest.fn();
  const options = { model, settings, openPanel: opened };
  const cpu = new PowerIndicator('cpu', options);
  const gpu = new PowerIndicator('gpu', options);
  const emissions = new EmissionsIndicator(options);
  for (const w of [cpu, gpu, emissions]) {
    Widget.attach(w, document.body);
  }
  model.start();
  await jest.advanceTimersByTimeAsync(0);
  const text = (w: Widget, sel: string) =>
    w.node.querySelector(sel)?.textContent ?? null;
  return { model, settings, cpu, gpu, emissions, opened, text };
}

const measured: ISample = {
  time: 't1',
  scope: 'user',
  cpu: { usage: 72, limit: 100, total: 90, idle: 5, share: 0.8, source: 'rapl' },
  gpu: { usage: 95, limit: 100, total: 95, source: 'nvml', devices: [] },
  emissions: { g: 0.0123, intensity_g_per_kwh: 56, source: 'rte', zone: 'FR', time: '2026-11-25T12:00:00Z' }
};

beforeEach(() => {
  jest.useFakeTimers();
  document.body.innerHTML = '';
});

afterEach(() => {
  jest.useRealTimers();
});

describe('helpers', () => {
  it('colours the bar by the share of the limit', () => {
    expect(barLevel(10, 100)?.level).toBe('normal');
    expect(barLevel(71, 100)?.level).toBe('warn');
    expect(barLevel(91, 100)?.level).toBe('critical');
    expect(barLevel(10, null)).toBeNull();
    expect(barLevel(10, 0)).toBeNull();
    expect(barLevel(undefined, 100)).toBeNull();
  });

  it('scales the sparkline to its box', () => {
    expect(sparklinePoints([])).toBe('');
    const pts = sparklinePoints([0, 10], 60, 16).split(' ');
    expect(pts).toEqual(['0.0,15.5', '60.0,0.5']);
  });
});

describe('top-bar items', () => {
  it('show label, value, bar level, GPU and emissions for a measured sample', async () => {
    const { cpu, gpu, emissions, text, model } = await setup({ kind: 'sample', sample: measured });
    expect(text(cpu, '.jp-PowerUsage-label')).toBe('CPU Power');
    expect(text(cpu, '.jp-PowerUsage-value')).toBe('72.0 W');
    const bar = cpu.node.querySelector('.jp-PowerUsage-bar') as HTMLElement;
    expect(bar.hidden).toBe(false);
    expect(bar.classList.contains('jp-mod-warn')).toBe(true);
    expect(gpu.isHidden).toBe(false);
    expect(gpu.node.querySelector('.jp-PowerUsage-bar')!.classList.contains('jp-mod-critical')).toBe(true);
    expect(text(emissions, '.jp-PowerUsage-value')).toBe('12.3 mg');
    expect(emissions.node.title).toContain('56.0 gCO₂e/kWh');
    expect(emissions.node.title).toContain('Zone: FR');
    expect(cpu.node.title).toContain('Source: rapl');
    expect(cpu.node.title).not.toContain('estimated');
    model.dispose();
  });

  it('mark estimated figures and hide the GPU item without gpu', async () => {
    const sample: ISample = {
      time: 't1',
      cpu: { usage: 3.2, limit: null, source: 'estimate' }
    };
    const { cpu, gpu, emissions, text, model } = await setup({ kind: 'sample', sample });
    expect(text(cpu, '.jp-PowerUsage-value')).toBe('≈ 3.20 W');
    expect(cpu.hasClass('jp-PowerUsage-estimated')).toBe(true);
    expect(cpu.node.title).toContain('(estimated)');
    expect((cpu.node.querySelector('.jp-PowerUsage-bar') as HTMLElement).hidden).toBe(true);
    expect(gpu.isHidden).toBe(true);
    // No emissions yet: a dash and a reason.
    expect(text(emissions, '.jp-PowerUsage-value')).toBe('–');
    expect(emissions.node.title).toMatch(/No emissions figure yet/);
    model.dispose();
  });

  it('show one quiet indicator with the diagnostics on a 503', async () => {
    const { cpu, gpu, emissions, text, model } = await setup({
      kind: 'unavailable',
      body: {
        error: 'no power sensor',
        diagnostics: [{ sensor: 'rapl', reason: 'permission', message: 'run jpud or chmod energy_uj' }]
      }
    });
    expect(cpu.hasClass('jp-PowerUsage-unavailable')).toBe(true);
    expect(text(cpu, '.jp-PowerUsage-value')).toBe('n/a');
    expect(cpu.node.title).toContain('no power sensor');
    expect(cpu.node.title).toContain('rapl (permission): run jpud or chmod energy_uj');
    expect(gpu.isHidden).toBe(true);
    expect(emissions.isHidden).toBe(true);
    model.dispose();
  });

  it('treat a sample without cpu as nothing measured, never as 0 W', async () => {
    const { cpu, text, model } = await setup({
      kind: 'sample',
      sample: { time: 't', diagnostics: [{ sensor: 'rapl', reason: 'absent', message: 'a VM' }] }
    });
    expect(text(cpu, '.jp-PowerUsage-value')).toBe('n/a');
    expect(cpu.node.title).toContain('rapl (absent): a VM');
    model.dispose();
  });

  it('toggle the sparkline on click and open the panel from it', async () => {
    const { cpu, opened, model } = await setup({ kind: 'sample', sample: measured });
    const main = cpu.node.querySelector('.jp-PowerUsage-main') as HTMLElement;
    const spark = cpu.node.querySelector('.jp-PowerUsage-sparkline') as HTMLElement;
    expect(spark.hidden).toBe(true);
    main.click();
    expect(spark.hidden).toBe(false);
    expect(spark.querySelector('polyline')!.getAttribute('points')).not.toBe('');
    spark.click();
    expect(opened).toHaveBeenCalledTimes(1);
    main.click();
    expect(spark.hidden).toBe(true);
    model.dispose();
  });

  it('follow the label and bar settings', async () => {
    const { cpu, settings, text, model } = await setup({ kind: 'sample', sample: measured });
    settings.update({ cpu: { label: 'Package' }, indicatorBarDisabled: true });
    expect(text(cpu, '.jp-PowerUsage-label')).toBe('Package');
    expect((cpu.node.querySelector('.jp-PowerUsage-bar') as HTMLElement).hidden).toBe(true);
    model.dispose();
  });
});
