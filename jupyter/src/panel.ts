/**
 * The "Power Usage" panel: power over time (CPU, DRAM, GPU) and cumulative
 * energy from the history endpoint, drawn with uPlot, the current figures of
 * the scope, and energy per notebook/kernel. It polls only while it is shown
 * and while the page is visible.
 */
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import uPlot from 'uplot';

import {
  MISSING,
  formatEnergy,
  formatIntensity,
  formatMass,
  formatNumber,
  formatPercent,
  formatIntensityTime,
  formatPower
} from './format';
import { CarbonSettingsSync } from './carbon';
import { PowerPoll, PowerUsageModel } from './model';
import {
  describeOrigin,
  estimateProblem,
  originReason,
  renderDiagnostics
} from './diagnostics';
import { isEstimated } from './topbar';
import { IEnergy, IHistory, IHistoryPoint, IKernelRow } from './types';

/** How much history the panel asks for when it opens, in seconds. */
export const HISTORY_WINDOW_S = 15 * 60;
/** The most points the panel keeps. */
export const HISTORY_MAX_POINTS = 3600;

export interface IPanelModelOptions {
  fetchHistory: (since?: number) => Promise<IHistory>;
  fetchKernels: () => Promise<IKernelRow[]>;
  refreshRate: number;
}

/** History and per-kernel rows, fetched incrementally while the panel is open. */
export class PanelModel {
  constructor(options: IPanelModelOptions) {
    this._fetchHistory = options.fetchHistory;
    this._fetchKernels = options.fetchKernels;
    this.poll = new PowerPoll({
      factory: async () => {
        const ok = await this._refresh();
        if (!ok) {
          // Rejecting makes the poll back off while the server fails.
          throw new Error(this._error ?? 'error');
        }
      },
      interval: options.refreshRate,
      name: 'jupyter-power-usage:panel'
    });
  }

  readonly poll: PowerPoll;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get points(): readonly IHistoryPoint[] {
    return this._points;
  }

  get kernels(): readonly IKernelRow[] {
    return this._kernels;
  }

  get error(): string | null {
    return this._error;
  }

  private async _refresh(): Promise<boolean> {
    const last = this._points[this._points.length - 1];
    const since = last ? last.t : Date.now() / 1000 - HISTORY_WINDOW_S;
    const [history, kernels] = await Promise.allSettled([
      this._fetchHistory(since),
      this._fetchKernels()
    ]);
    const errors: string[] = [];
    if (history.status === 'fulfilled') {
      for (const point of history.value.samples) {
        if (typeof point.t === 'number' && (!last || point.t > last.t)) {
          const tail = this._points[this._points.length - 1];
          if (!tail || point.t > tail.t) {
            this._points.push(point);
          }
        }
      }
      if (this._points.length > HISTORY_MAX_POINTS) {
        this._points.splice(0, this._points.length - HISTORY_MAX_POINTS);
      }
    } else {
      errors.push(`history: ${String(history.reason?.message ?? history.reason)}`);
    }
    if (kernels.status === 'fulfilled') {
      this._kernels = kernels.value;
    } else {
      errors.push(`kernels: ${String(kernels.reason?.message ?? kernels.reason)}`);
    }
    this._error = errors.length ? errors.join('; ') : null;
    this._changed.emit();
    return errors.length === 0;
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  private _fetchHistory: (since?: number) => Promise<IHistory>;
  private _fetchKernels: () => Promise<IKernelRow[]>;
  private _points: IHistoryPoint[] = [];
  private _kernels: IKernelRow[] = [];
  private _error: string | null = null;
  private _changed = new Signal<this, void>(this);
}

function totalEnergy(energy: IEnergy | number | null | undefined): number | null {
  if (typeof energy === 'number') {
    return energy;
  }
  return typeof energy?.total === 'number' ? energy.total : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  parent: HTMLElement,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  parent.appendChild(node);
  return node;
}

/** The kernels table's columns: title and class (the emissions one is found by the UI tests). */
export const KERNEL_COLUMNS: [string, string][] = [
  ['Notebook / kernel', ''],
  ['PID', ''],
  ['Power', ''],
  ['Energy', ''],
  ['CO₂e', 'jp-PowerUsage-emissionsCol'],
  ['CPU', ''],
  ['DRAM', ''],
  ['GPU', ''],
  ['Note', '']
];

/** The history as uPlot columns: time, intensity (g/kWh) and cumulative grams. */
export function carbonSeries(points: readonly IHistoryPoint[]): {
  time: number[];
  intensity: (number | null)[];
  emissions: (number | null)[];
} {
  return {
    time: points.map(p => p.t),
    intensity: points.map(p => num(p.intensity_g_per_kwh)),
    emissions: points.map(p => num(p.emissions_g))
  };
}

const SERIES_COLOURS = {
  intensity: '#5d4037',
  emissions: '#00796b',
  cpu: '#1976d2',
  cpuTotal: '#90caf9',
  dram: '#388e3c',
  gpu: '#f57c00',
  energy: '#7b1fa2'
};

/** The panel's content; wrapped in a MainAreaWidget by index.ts. */
export class PowerPanel extends Widget {
  constructor(
    model: PowerUsageModel,
    panelModel: PanelModel,
    carbon: CarbonSettingsSync | null = null
  ) {
    super();
    this._model = model;
    this._panelModel = panelModel;
    this._carbon = carbon;
    this.addClass('jp-PowerUsage-panel');

    this._summary = el('section', 'jp-PowerUsage-summary', this.node);
    this._notice = el('div', 'jp-PowerUsage-notice', this.node);
    el('h3', 'jp-PowerUsage-heading', this.node, 'Power over time');
    this._powerBox = el('div', 'jp-PowerUsage-chart jp-PowerUsage-powerChart', this.node);
    el('h3', 'jp-PowerUsage-heading', this.node, 'Cumulative energy of the scope');
    this._energyBox = el('div', 'jp-PowerUsage-chart jp-PowerUsage-energyChart', this.node);
    el('h3', 'jp-PowerUsage-heading', this.node, 'Carbon intensity over time');
    this._intensityNote = el('p', 'jp-PowerUsage-note jp-PowerUsage-intensityNote', this.node);
    this._intensityBox = el('div', 'jp-PowerUsage-chart jp-PowerUsage-intensityChart', this.node);
    el('h3', 'jp-PowerUsage-heading', this.node, 'Cumulative emissions of the scope');
    this._emissionsBox = el('div', 'jp-PowerUsage-chart jp-PowerUsage-emissionsChart', this.node);
    el('h3', 'jp-PowerUsage-heading', this.node, 'Energy and emissions per notebook / kernel');
    const table = el('table', 'jp-PowerUsage-kernels', this.node);
    const head = el('tr', '', el('thead', '', table));
    for (const [title, className] of KERNEL_COLUMNS) {
      el('th', className, head, title);
    }
    this._kernelBody = el('tbody', '', table);

    this._model.changed.connect(this._renderSummary, this);
    this._panelModel.changed.connect(this._renderData, this);
    this._carbon?.changed.connect(this._renderNotice, this);
    this._renderSummary();
    this._renderData();
  }

  get panelModel(): PanelModel {
    return this._panelModel;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._renderSummary, this);
    this._carbon?.changed.disconnect(this._renderNotice, this);
    this._panelModel.dispose();
    this._powerPlot?.destroy();
    this._energyPlot?.destroy();
    this._intensityPlot?.destroy();
    this._emissionsPlot?.destroy();
    super.dispose();
  }

  // The history is polled only while the panel can be seen: a background tab
  // in JupyterLab, or Notebook 7's side panel closed with its button, is
  // hidden but still attached.
  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      void this._panelModel.poll.start();
    }
    this._ensurePlots();
  }

  protected onBeforeDetach(msg: Message): void {
    void this._panelModel.poll.stop();
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._panelModel.poll.start();
    this._ensurePlots();
    this._resizePlots();
  }

  protected onBeforeHide(msg: Message): void {
    void this._panelModel.poll.stop();
    super.onBeforeHide(msg);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._resizePlots();
  }

  private _width(): number {
    return Math.max(300, (this._powerBox.clientWidth || this.node.clientWidth || 640) - 8);
  }

  private _ensurePlots(): void {
    if (this._powerPlot || !this.isAttached) {
      return;
    }
    const width = this._width();
    const power = (u: uPlot, v: number | null) => formatPower(v);
    this._powerPlot = new uPlot(
      {
        width,
        height: 220,
        series: [
          {},
          { label: 'CPU (scope)', stroke: SERIES_COLOURS.cpu, width: 2, value: power },
          { label: 'CPU (machine)', stroke: SERIES_COLOURS.cpuTotal, width: 1, value: power },
          { label: 'DRAM', stroke: SERIES_COLOURS.dram, width: 1.5, value: power },
          { label: 'GPU', stroke: SERIES_COLOURS.gpu, width: 1.5, value: power }
        ],
        axes: [{}, { values: (u, ticks) => ticks.map(t => formatPower(t)), size: 60 }],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max ?? 1) * 1.1] } }
      },
      this._powerData(),
      this._powerBox
    );
    this._energyPlot = new uPlot(
      {
        width,
        height: 160,
        series: [
          {},
          {
            label: 'Energy',
            stroke: SERIES_COLOURS.energy,
            width: 2,
            value: (u, v) => formatEnergy(v)
          }
        ],
        axes: [{}, { values: (u, ticks) => ticks.map(t => formatEnergy(t)), size: 80 }]
      },
      this._energyData(),
      this._energyBox
    );
    const carbon = carbonSeries(this._panelModel.points);
    this._intensityPlot = new uPlot(
      {
        width,
        height: 140,
        series: [
          {},
          {
            label: 'Carbon intensity',
            stroke: SERIES_COLOURS.intensity,
            width: 2,
            value: (u, v) => formatIntensity(v)
          }
        ],
        axes: [{}, { values: (u, ticks) => ticks.map(t => formatNumber(t)), size: 50, label: 'g/kWh' }],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max ?? 1) * 1.1] } }
      },
      [carbon.time, carbon.intensity] as uPlot.AlignedData,
      this._intensityBox
    );
    this._emissionsPlot = new uPlot(
      {
        width,
        height: 140,
        series: [
          {},
          {
            label: 'Emissions',
            stroke: SERIES_COLOURS.emissions,
            width: 2,
            value: (u, v) => formatMass(v)
          }
        ],
        axes: [{}, { values: (u, ticks) => ticks.map(t => formatMass(t)), size: 80 }]
      },
      [carbon.time, carbon.emissions] as uPlot.AlignedData,
      this._emissionsBox
    );
  }

  private _resizePlots(): void {
    if (!this._powerPlot || !this.isVisible) {
      return;
    }
    const width = this._width();
    this._powerPlot.setSize({ width, height: 220 });
    this._energyPlot?.setSize({ width, height: 160 });
    this._intensityPlot?.setSize({ width, height: 140 });
    this._emissionsPlot?.setSize({ width, height: 140 });
  }

  private _powerData(): uPlot.AlignedData {
    const pts = this._panelModel.points;
    return [
      pts.map(p => p.t),
      pts.map(p => num(p.cpu)),
      pts.map(p => num(p.cpu_total)),
      pts.map(p => num(p.dram)),
      pts.map(p => num(p.gpu))
    ] as uPlot.AlignedData;
  }

  private _energyData(): uPlot.AlignedData {
    const pts = this._panelModel.points;
    return [pts.map(p => p.t), pts.map(p => totalEnergy(p.energy_j))] as uPlot.AlignedData;
  }

  private _renderData(): void {
    this._ensurePlots();
    this._powerPlot?.setData(this._powerData());
    this._energyPlot?.setData(this._energyData());
    const carbon = carbonSeries(this._panelModel.points);
    this._intensityPlot?.setData([carbon.time, carbon.intensity] as uPlot.AlignedData);
    this._emissionsPlot?.setData([carbon.time, carbon.emissions] as uPlot.AlignedData);
    this.node.dataset.points = String(this._panelModel.points.length);
    const withIntensity = carbon.intensity.filter(v => v !== null).length;
    this.node.dataset.intensityPoints = String(withIntensity);
    this._intensityNote.textContent =
      this._panelModel.points.length && !withIntensity
        ? 'The server has no carbon intensity in its history yet.'
        : '';
    this._intensityNote.hidden = !this._intensityNote.textContent;

    const body = this._kernelBody;
    body.textContent = '';
    const rows = this._panelModel.kernels;
    if (!rows.length) {
      const td = el('td', 'jp-PowerUsage-empty', el('tr', '', body), 'No running kernel.');
      td.colSpan = KERNEL_COLUMNS.length;
    }
    for (const row of rows) {
      const tr = el('tr', 'jp-PowerUsage-kernelRow', body);
      tr.dataset.kernelId = row.kernel_id;
      if (row.alive === false) {
        tr.classList.add('jp-mod-dead');
      }
      const name = row.path || row.name || row.kernel_id;
      const nameCell = el('td', '', tr, name);
      nameCell.title = `${row.name ?? ''} ${row.kernel_id}`.trim();
      el('td', '', tr, row.pid === null || row.pid === undefined ? MISSING : String(row.pid));
      el('td', '', tr, formatPower(row.power_w));
      el('td', '', tr, formatEnergy(row.energy_j?.total));
      el('td', 'jp-PowerUsage-emissionsCol', tr, formatMass(row.emissions_g));
      el('td', '', tr, formatEnergy(row.energy_j?.cpu));
      el('td', '', tr, formatEnergy(row.energy_j?.dram));
      el('td', '', tr, formatEnergy(row.energy_j?.gpu));
      el('td', '', tr, row.note ?? (row.alive === false ? 'stopped' : ''));
    }
    this._renderNotice();
  }

  private _renderNotice(): void {
    const errors: string[] = [];
    if (this._panelModel.error) {
      errors.push(`Could not update: ${this._panelModel.error}`);
    }
    if (this._carbon?.message) {
      // A refused or overridden carbon setting: the figures use the server's.
      errors.push(this._carbon.message);
    }
    this._notice.textContent = errors.join('\n');
    this._notice.hidden = errors.length === 0;
  }

  private _renderSummary(): void {
    const model = this._model;
    const s = model.sample;
    const box = this._summary;
    box.textContent = '';
    const origin =
      model.status === 'unavailable' ? model.unavailable?.origin : s?.origin;
    // Where the figures come from: newer servers say it (the node daemon or this server).
    const from = describeOrigin(origin);
    if (from) {
      const line = el('p', 'jp-PowerUsage-origin', box, from);
      line.dataset.kind = String(origin?.kind ?? '');
      const reason = originReason(origin);
      if (reason) {
        el('span', 'jp-PowerUsage-note jp-PowerUsage-originReason', line, ` ${reason}`);
      }
    }
    if (model.status === 'unavailable' || model.nothingMeasured) {
      renderDiagnostics(
        box,
        model.diagnostics,
        model.unavailable?.error ?? 'Power cannot be measured on this machine.'
      );
      return;
    }
    if (!s) {
      el('p', '', box, model.error ? `Waiting for the server: ${model.error}` : 'Waiting for the first sample…');
      return;
    }
    const dl = el('dl', 'jp-PowerUsage-figures', box);
    const add = (term: string, value: string, note?: string) => {
      el('dt', '', dl, term);
      const dd = el('dd', '', dl, value);
      if (note) {
        el('span', 'jp-PowerUsage-note', dd, ` ${note}`);
      }
    };
    add('Scope', s.scope ?? MISSING);
    if (s.cpu) {
      add('CPU', `${isEstimated(s.cpu) ? '≈ ' : ''}${formatPower(s.cpu.usage)}`,
        `${isEstimated(s.cpu) ? '(estimated) ' : ''}of ${formatPower(s.cpu.total)} machine, share ${formatPercent(s.cpu.share)}, idle ${formatPower(s.cpu.idle)}, source ${s.cpu.source ?? MISSING}`);
    }
    if (s.dram) {
      add('DRAM', formatPower(s.dram.usage ?? s.dram.total), `source ${s.dram.source ?? MISSING}`);
    }
    if (s.psys) {
      add('Platform (psys)', formatPower(s.psys.total));
    }
    if (s.gpu) {
      add('GPU', formatPower(s.gpu.usage), `of ${formatPower(s.gpu.total)}, ${s.gpu.devices?.length ?? 0} device(s), source ${s.gpu.source ?? MISSING}`);
    }
    const e = s.energy_j;
    if (e) {
      const parts = (['cpu', 'dram', 'gpu'] as const)
        .filter(k => typeof e[k] === 'number' && (k !== 'gpu' || s.gpu))
        .map(k => `${k.toUpperCase()} ${formatEnergy(e[k])}`);
      add('Energy so far', formatEnergy(e.total), parts.join(', '));
    }
    if (s.emissions) {
      const em = s.emissions;
      const where = [em.source ?? MISSING, em.zone, em.basis, formatIntensityTime(em)]
        .filter(Boolean)
        .join(', ');
      const flags = [em.estimated ? 'estimated' : '', em.stale ? 'stale: last value of a provider that failed' : '']
        .filter(Boolean)
        .join('; ');
      add('Emissions so far', formatMass(em.g),
        `at ${formatIntensity(em.intensity_g_per_kwh)} (${where})${flags ? ' ' + flags : ''}`);
    } else {
      add('Emissions so far', MISSING, 'no carbon intensity on the server yet');
    }
    // Problems in the warning colour; sensors this machine does not have, quietly.
    renderDiagnostics(box, s.diagnostics, estimateProblem(s), s.cpu?.source ?? null);
  }

  private _model: PowerUsageModel;
  private _panelModel: PanelModel;
  private _carbon: CarbonSettingsSync | null;
  private _summary: HTMLElement;
  private _notice: HTMLElement;
  private _powerBox: HTMLDivElement;
  private _energyBox: HTMLDivElement;
  private _intensityNote: HTMLElement;
  private _intensityBox: HTMLDivElement;
  private _emissionsBox: HTMLDivElement;
  private _kernelBody: HTMLTableSectionElement;
  private _powerPlot: uPlot | null = null;
  private _energyPlot: uPlot | null = null;
  private _intensityPlot: uPlot | null = null;
  private _emissionsPlot: uPlot | null = null;
}
