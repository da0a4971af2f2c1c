/**
 * Where the figures come from (the `origin` of the sample): the top-bar
 * tooltip and the panel name the node daemon jpud or this Jupyter server, say
 * why a configured jpud is not used, and for an estimate give the one action
 * that would make the figures measured (or the note that nothing can). The
 * answer of an older server has no origin and keeps the old texts.
 */
import { Widget } from '@lumino/widgets';

import {
  describeOrigin,
  estimateAdvice,
  estimateProblem,
  originReason
} from '../diagnostics';
import { PowerUsageModel } from '../model';
import { PanelModel, PowerPanel } from '../panel';
import { SettingsState } from '../settings';
import { PowerIndicator } from '../topbar';
import { IOrigin, ISample, SampleResult } from '../types';

const SOCKET = '/run/jpu/jpud.sock';
const ACTION =
  'ask the administrator to run jpud, the node daemon (docs/jpud-deploy.md): ' +
  'it reads the root-only energy counters for every user';
const REASON = `jpud (${SOCKET}) did not answer: connection refused`;
const NOTE =
  'this machine has no power sensor that software can read (a virtual machine?): ' +
  'the figures stay estimated';
const GENERIC = 'no power sensor of this machine can be read by this server';

const fromDaemon: IOrigin = {
  kind: 'daemon',
  label: 'the node daemon jpud',
  socket: SOCKET,
  reason: null,
  action: null,
  note: null
};
const fallback: IOrigin = {
  kind: 'server',
  label: 'this Jupyter server',
  socket: SOCKET,
  reason: REASON,
  action: ACTION,
  note: null
};
const onAVm: IOrigin = {
  kind: 'server',
  label: 'this Jupyter server',
  socket: null,
  reason: null,
  action: null,
  note: NOTE
};

const measured: ISample = {
  time: '2026-12-01T10:00:00.000Z',
  scope: 'process',
  cpu: { usage: 4.2, limit: 100, total: 30, idle: 10, share: 0.2, source: 'rapl' },
  energy_j: { cpu: 12, total: 12 },
  origin: fromDaemon
};
const estimated: ISample = {
  ...measured,
  cpu: { usage: 2, total: 20, source: 'estimate', basis: 'TDP curve of the CPU model' },
  origin: fallback
};

beforeEach(() => {
  jest.useFakeTimers();
  document.body.innerHTML = '';
});

afterEach(() => {
  jest.useRealTimers();
});

describe('origin texts', () => {
  it('name the node daemon with its socket, or this server in-process', () => {
    expect(describeOrigin(fromDaemon)).toBe(`From: the node daemon jpud (${SOCKET})`);
    expect(describeOrigin(fallback)).toBe('From: this Jupyter server (in-process)');
    // A server that sends the kind alone still reads as a sentence.
    expect(describeOrigin({ kind: 'daemon', socket: SOCKET })).toBe(
      `From: the node daemon jpud (${SOCKET})`
    );
    expect(describeOrigin(undefined)).toBeNull();
    expect(describeOrigin(null)).toBeNull();
    expect(describeOrigin({})).toBeNull();
  });

  it('give the reason only while the configured daemon is not used', () => {
    expect(originReason(fallback)).toBe(`The node daemon is not used now: ${REASON}`);
    expect(originReason(fromDaemon)).toBeNull();
    expect(originReason(onAVm)).toBeNull();
    expect(originReason(undefined)).toBeNull();
  });

  it('give the one action for an estimate, else the note, else the old text', () => {
    expect(estimateAdvice(fallback)).toBe(`For measured figures: ${ACTION}`);
    expect(estimateAdvice(onAVm)).toBe(NOTE);
    expect(estimateAdvice(fromDaemon)).toBeNull();

    expect(estimateProblem(estimated)).toBe(
      'CPU power is estimated (TDP curve of the CPU model), not measured. ' +
        `For measured figures: ${ACTION}`
    );
    expect(estimateProblem({ ...estimated, origin: onAVm })).toBe(
      `CPU power is estimated (TDP curve of the CPU model), not measured: ${NOTE}`
    );
    const older = { ...estimated };
    delete older.origin;
    expect(estimateProblem(older)).toContain(GENERIC);
    expect(estimateProblem(measured)).toBeNull();
  });
});

async function cpuItem(sample: ISample) {
  const result: SampleResult = { kind: 'sample', sample };
  const model = new PowerUsageModel({ fetchSample: async () => result, refreshRate: 1000 });
  const cpu = new PowerIndicator('cpu', { model, settings: new SettingsState() });
  Widget.attach(cpu, document.body);
  model.start();
  await jest.advanceTimersByTimeAsync(0);
  return { cpu, model };
}

describe('CPU item tooltip', () => {
  it('says the figures come from the node daemon when jpud measures', async () => {
    const { cpu, model } = await cpuItem(measured);
    const title = cpu.node.title;
    expect(title).toContain(`From: the node daemon jpud (${SOCKET})`);
    expect(title).toContain('Source: rapl');
    expect(title).not.toContain('not used now');
    expect(title).not.toContain('estimated');
    model.dispose();
  });

  it('says this server, why jpud is not used and the action for the estimate', async () => {
    const { cpu, model } = await cpuItem(estimated);
    const lines = cpu.node.title.split('\n');
    expect(lines).toContain('From: this Jupyter server (in-process)');
    expect(lines).toContain(`The node daemon is not used now: ${REASON}`);
    expect(lines).toContain(`For measured figures: ${ACTION}`);
    expect(cpu.hasClass('jp-PowerUsage-estimated')).toBe(true);
    // The fallback is no error: the item is not marked stale.
    expect(cpu.hasClass('jp-PowerUsage-stale')).toBe(false);
    model.dispose();
  });

  it('gives the note when nothing on the machine can measure', async () => {
    const { cpu, model } = await cpuItem({ ...estimated, origin: onAVm });
    const lines = cpu.node.title.split('\n');
    expect(lines).toContain('From: this Jupyter server (in-process)');
    expect(lines).toContain(NOTE);
    expect(cpu.node.title).not.toContain('For measured figures');
    expect(cpu.node.title).not.toContain('not used now');
    model.dispose();
  });

  it('says where the answer comes from when nothing is measured', async () => {
    const { cpu, model } = await cpuItem({
      time: 't',
      origin: { ...fallback, action: null },
      diagnostics: [{ sensor: 'rapl', reason: 'absent', message: 'no powercap' }]
    });
    expect(cpu.hasClass('jp-PowerUsage-unavailable')).toBe(true);
    const lines = cpu.node.title.split('\n');
    expect(lines).toContain('From: this Jupyter server (in-process)');
    expect(lines).toContain(`The node daemon is not used now: ${REASON}`);
    expect(cpu.node.title).toContain('rapl (absent): no powercap');
    model.dispose();
  });

  it('keeps the old tooltip for an older server without origin', async () => {
    const older = { ...estimated };
    delete older.origin;
    const { cpu, model } = await cpuItem(older);
    expect(cpu.node.title).toContain('(estimated)');
    expect(cpu.node.title).not.toContain('From:');
    expect(cpu.node.title).not.toContain('For measured figures');
    model.dispose();
  });
});

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

describe('PowerPanel origin', () => {
  it('says the node daemon measures, with no problem', async () => {
    const panel = await panelFor(measured);
    const origin = panel.node.querySelector('.jp-PowerUsage-origin') as HTMLElement;
    expect(origin.textContent).toBe(`From: the node daemon jpud (${SOCKET})`);
    expect(origin.dataset.kind).toBe('daemon');
    expect(panel.node.querySelector('.jp-PowerUsage-originReason')).toBeNull();
    expect(panel.node.querySelector('.jp-PowerUsage-problems')).toBeNull();
    panel.dispose();
  });

  it('says this server, the reason, and the action instead of the old text', async () => {
    const panel = await panelFor(estimated);
    const origin = panel.node.querySelector('.jp-PowerUsage-origin') as HTMLElement;
    expect(origin.dataset.kind).toBe('server');
    expect(origin.textContent).toContain('From: this Jupyter server (in-process)');
    expect(panel.node.querySelector('.jp-PowerUsage-originReason')?.textContent).toBe(
      ` The node daemon is not used now: ${REASON}`
    );
    const headline = panel.node.querySelector('.jp-PowerUsage-problemHeadline');
    expect(headline?.textContent).toContain(`For measured figures: ${ACTION}`);
    expect(panel.node.textContent).not.toContain(GENERIC);
    panel.dispose();
  });

  it('gives the note when nothing on the machine can measure', async () => {
    const panel = await panelFor({ ...estimated, origin: onAVm });
    const headline = panel.node.querySelector('.jp-PowerUsage-problemHeadline');
    expect(headline?.textContent).toContain(NOTE);
    expect(panel.node.textContent).not.toContain(GENERIC);
    expect(panel.node.querySelector('.jp-PowerUsage-originReason')).toBeNull();
    panel.dispose();
  });

  it('keeps the old texts for an older server without origin', async () => {
    const older = { ...estimated };
    delete older.origin;
    const panel = await panelFor(older);
    expect(panel.node.querySelector('.jp-PowerUsage-origin')).toBeNull();
    expect(panel.node.querySelector('.jp-PowerUsage-problemHeadline')?.textContent).toContain(
      GENERIC
    );
    panel.dispose();
  });
});
