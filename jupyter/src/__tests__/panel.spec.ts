/**
 * The panel's summary as a person reads it: problems in the warning style,
 * sensors the machine does not have quietly, and a yearly intensity named as
 * such. The panel is not attached, so no chart is drawn (uPlot needs layout).
 */
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { PowerUsageModel } from '../model';
import { PanelModel, PowerPanel } from '../panel';
import { ISample } from '../types';

const absent = [
  { sensor: 'perf', reason: 'absent', message: 'perf: no power event could be opened' },
  { sensor: 'hwmon', reason: 'absent', message: 'hwmon: no class/hwmon in sysfs' },
  { sensor: 'nvml', reason: 'absent', message: 'no NVIDIA driver (libnvidia-ml.so.1 not found)' }
];

// A RAPL machine without a GPU, with the country table's intensity (as in tests/golden/).
const measured: ISample = {
  time: '2026-12-01T10:00:00.000Z',
  scope: 'process',
  cpu: { usage: 4.2, limit: 100, total: 30, idle: 10, share: 0.2, source: 'rapl' },
  energy_j: { cpu: 12, total: 12 },
  emissions: {
    g: 0.5,
    intensity_g_per_kwh: 44,
    source: 'table',
    zone: 'FR',
    basis: 'lifecycle',
    time: '2024-01-01T00:00:00.000Z',
    estimated: true
  },
  diagnostics: absent
};

async function panelFor(sample: ISample): Promise<PowerPanel> {
  const model = new PowerUsageModel({
    fetchSample: async () => ({ kind: 'sample', sample }),
    refreshRate: 1000
  });
  const panelModel = new PanelModel({
    fetchHistory: async () => ({ samples: [] }),
    fetchKernels: async () => [],
    refreshRate: 1000
  });
  const panel = new PowerPanel(model, panelModel);
  model.start();
  await jest.advanceTimersByTimeAsync(0);
  return panel;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('PowerPanel summary', () => {
  it('lists absent sensors quietly when the CPU is measured', async () => {
    const panel = await panelFor(measured);
    const node = panel.node;
    expect(node.querySelector('.jp-PowerUsage-problems')).toBeNull();
    expect(node.querySelector('.jp-PowerUsage-why')).toBeNull();
    const quiet = node.querySelector('.jp-PowerUsage-notFound');
    expect(quiet).not.toBeNull();
    expect(Array.from(quiet!.querySelectorAll('li')).map(li => li.dataset.sensor)).toEqual([
      'perf',
      'hwmon',
      'nvml'
    ]);
    panel.dispose();
  });

  it('names a yearly country intensity "2024 annual average"', async () => {
    const panel = await panelFor(measured);
    const text = panel.node.querySelector('.jp-PowerUsage-figures')!.textContent!;
    expect(text).toContain('2024 annual average');
    expect(text).not.toMatch(/1\/1\/2024|12:00:00/);
    panel.dispose();
  });

  it('shows an estimated CPU and a permission problem as problems', async () => {
    const panel = await panelFor({
      ...measured,
      cpu: { usage: 2, total: 20, source: 'estimate' },
      diagnostics: [
        { sensor: 'rapl', reason: 'permission', message: 'energy_uj is readable by root only' },
        ...absent
      ]
    });
    const problems = panel.node.querySelector('.jp-PowerUsage-problems');
    expect(problems?.textContent).toContain('CPU power is estimated');
    expect(problems?.textContent).toContain('rapl (permission)');
    expect(problems?.textContent).not.toContain('nvml');
    expect(panel.node.querySelectorAll('.jp-PowerUsage-notFound li')).toHaveLength(3);
    panel.dispose();
  });
});

describe('PowerPanel history polling', () => {
  it('polls the history only while the panel is shown', async () => {
    const model = new PowerUsageModel({
      fetchSample: async () => ({ kind: 'sample', sample: measured }),
      refreshRate: 1000
    });
    const fetchHistory = jest.fn(async () => ({ samples: [] }));
    const panelModel = new PanelModel({ fetchHistory, fetchKernels: async () => [], refreshRate: 1000 });
    const panel = new PowerPanel(model, panelModel);
    await jest.advanceTimersByTimeAsync(5000);
    expect(fetchHistory).not.toHaveBeenCalled();
    // Shown (a tab brought to front, Notebook 7's side panel opened).
    MessageLoop.sendMessage(panel, Widget.Msg.AfterShow);
    await jest.advanceTimersByTimeAsync(0);
    expect(fetchHistory).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(2000);
    expect(fetchHistory).toHaveBeenCalledTimes(3);
    // Hidden (a background tab, the side panel closed with its button).
    MessageLoop.sendMessage(panel, Widget.Msg.BeforeHide);
    await jest.advanceTimersByTimeAsync(60000);
    expect(fetchHistory).toHaveBeenCalledTimes(3);
    MessageLoop.sendMessage(panel, Widget.Msg.AfterShow);
    await jest.advanceTimersByTimeAsync(0);
    expect(fetchHistory).toHaveBeenCalledTimes(4);
    panel.dispose();
    model.dispose();
  });
});
