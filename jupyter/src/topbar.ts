/**
 * The top-bar views: `cpu_power`, `gpu_power` and `emissions`. They only
 * render what the model holds; all numbers go through format.ts.
 */
import { Widget } from '@lumino/widgets';

import {
  MISSING,
  formatEnergy,
  formatIntensity,
  formatMass,
  formatNumber,
  formatIntensityTime,
  formatPercent,
  formatPower
} from './format';
import { CarbonSettingsSync } from './carbon';
import {
  describeDiagnostics,
  describeOrigin,
  estimateAdvice,
  originReason
} from './diagnostics';
import { PowerUsageModel } from './model';
import { SettingsState } from './settings';
import { IEmissions, IPowerPart } from './types';

export { describeDiagnostics } from './diagnostics';

/** Usage above this share of the limit turns the bar orange. */
export const WARN_RATIO = 0.7;
/** Usage above this share of the limit turns the bar red. */
export const CRITICAL_RATIO = 0.9;

const SVG_NS = 'http://www.w3.org/2000/svg';
const SPARK_W = 60;
const SPARK_H = 16;

export type PowerKind = 'cpu' | 'gpu';

/** Whether a part's figure is modelled rather than measured. */
export function isEstimated(part: IPowerPart | null | undefined): boolean {
  return part?.source === 'estimate';
}

/** The bar's state for a usage and a limit, or null when no bar is drawn. */
export function barLevel(
  usage: number | undefined,
  limit: number | null | undefined
): { ratio: number; level: 'normal' | 'warn' | 'critical' } | null {
  if (
    typeof usage !== 'number' ||
    typeof limit !== 'number' ||
    !Number.isFinite(limit) ||
    limit <= 0
  ) {
    return null;
  }
  const ratio = Math.max(0, usage / limit);
  const level =
    ratio > CRITICAL_RATIO ? 'critical' : ratio > WARN_RATIO ? 'warn' : 'normal';
  return { ratio, level };
}

/** The points of a sparkline polyline for values drawn in a w × h box. */
export function sparklinePoints(
  values: readonly number[],
  w = SPARK_W,
  h = SPARK_H
): string {
  if (!values.length) {
    return '';
  }
  const max = Math.max(...values, 1e-9);
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? i * step : w;
      const y = h - (Math.max(0, v) / max) * (h - 1) - 0.5;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  parent?: HTMLElement
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (parent) {
    parent.appendChild(node);
  }
  return node;
}

export interface IIndicatorOptions {
  model: PowerUsageModel;
  settings: SettingsState;
  /** Open the Power Usage panel. */
  openPanel?: () => void;
}

/**
 * The CPU or GPU power item: label, value, a bar of usage against the limit,
 * and on click a sparkline of recent values (a click on the sparkline opens
 * the panel). The CPU item doubles as the one quiet "not available" indicator
 * when nothing can be measured.
 */
export class PowerIndicator extends Widget {
  constructor(kind: PowerKind, options: IIndicatorOptions) {
    super();
    this.kind = kind;
    this._model = options.model;
    this._settings = options.settings;
    this._openPanel = options.openPanel;
    this.addClass('jp-PowerUsage-indicator');
    this.addClass(`jp-PowerUsage-${kind}`);
    this.node.dataset.kind = kind;

    const button = element('div', 'jp-PowerUsage-main', this.node);
    button.setAttribute('role', 'button');
    button.tabIndex = 0;
    this._label = element('span', 'jp-PowerUsage-label', button);
    this._value = element('span', 'jp-PowerUsage-value', button);
    this._bar = element('span', 'jp-PowerUsage-bar', button);
    this._barFill = element('span', 'jp-PowerUsage-barFill', this._bar);
    this._spark = element('span', 'jp-PowerUsage-sparkline', this.node);
    this._spark.setAttribute('role', 'button');
    this._spark.title = 'Recent values; click for the Power Usage panel';
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
    svg.setAttribute('width', String(SPARK_W));
    svg.setAttribute('height', String(SPARK_H));
    this._polyline = document.createElementNS(SVG_NS, 'polyline');
    svg.appendChild(this._polyline);
    this._spark.appendChild(svg);
    this._spark.hidden = true;

    button.addEventListener('click', this._onClick);
    button.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this._onClick();
      }
    });
    this._spark.addEventListener('click', () => this._openPanel?.());

    this._model.changed.connect(this._render, this);
    this._settings.changed.connect(this._render, this);
    this._render();
  }

  readonly kind: PowerKind;

  /** Whether the sparkline is shown. */
  get sparklineVisible(): boolean {
    return !this._spark.hidden;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._render, this);
    this._settings.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _onClick = (): void => {
    if (this._quiet) {
      // Nothing to plot: the panel says why at length.
      this._openPanel?.();
      return;
    }
    this._spark.hidden = !this._spark.hidden;
    this._render();
  };

  private _render(): void {
    const model = this._model;
    const settings = this._settings.values;
    const part = this.kind === 'cpu' ? model.cpu : model.gpu;
    const label = this.kind === 'cpu' ? settings.cpuLabel : settings.gpuLabel;
    this._label.textContent = label;

    // The quiet indicator: the CPU item only, and only when there is nothing to show.
    const noCpu = model.status !== 'loading' && !model.cpuAvailable;
    this._quiet = this.kind === 'cpu' && noCpu;
    this.toggleClass('jp-PowerUsage-unavailable', this._quiet);
    if (this.kind === 'gpu') {
      // The GPU item exists only where the sample has `gpu`, and never beside the quiet one.
      this.setHidden(!model.gpuAvailable || model.nothingMeasured);
    }
    if (this._quiet) {
      this._renderQuiet(label);
      return;
    }

    const usage = part?.usage;
    const estimated = isEstimated(part);
    const stale = model.status === 'error';
    this.toggleClass('jp-PowerUsage-estimated', estimated);
    this.toggleClass('jp-PowerUsage-stale', stale);
    this._value.textContent =
      (estimated ? '≈ ' : '') +
      (model.status === 'loading' ? MISSING : formatPower(usage));

    const bar = settings.indicatorBarDisabled
      ? null
      : barLevel(usage, part?.limit);
    this._bar.hidden = bar === null;
    if (bar) {
      this._barFill.style.width = `${Math.min(100, bar.ratio * 100).toFixed(1)}%`;
      this._bar.dataset.level = bar.level;
      this._bar.classList.toggle('jp-mod-warn', bar.level === 'warn');
      this._bar.classList.toggle('jp-mod-critical', bar.level === 'critical');
    }

    const values = this.kind === 'cpu' ? model.cpuValues : model.gpuValues;
    this._polyline.setAttribute('points', sparklinePoints(values));
    this.node.title = this._tooltip(label, part, estimated, stale);
  }

  private _renderQuiet(label: string): void {
    const model = this._model;
    this.removeClass('jp-PowerUsage-estimated');
    this._bar.hidden = true;
    this._spark.hidden = true;
    this._value.textContent = 'n/a';
    let why: string;
    if (model.status === 'unavailable') {
      why =
        'Power cannot be measured here: ' +
        (model.unavailable?.error ?? 'the power engine could not start.');
    } else if (model.status === 'error' && !model.sample) {
      why = `Power figures cannot be fetched from the server: ${model.error}`;
    } else {
      why = `${label} is not available on this machine.`;
    }
    const origin =
      model.status === 'unavailable' ? model.unavailable?.origin : model.sample?.origin;
    const from = [describeOrigin(origin), originReason(origin)].filter(Boolean);
    this.node.title = [why, ...from, describeDiagnostics(model.diagnostics)].join('\n');
  }

  private _tooltip(
    label: string,
    part: IPowerPart | null,
    estimated: boolean,
    stale: boolean
  ): string {
    const model = this._model;
    const lines: string[] = [];
    const scope = model.sample?.scope ? ` (scope: ${model.sample.scope})` : '';
    lines.push(
      `${label}: ${formatPower(part?.usage)}${scope}${estimated ? ' (estimated)' : ''}`
    );
    const origin = model.sample?.origin;
    if (estimated) {
      lines.push(
        'Estimated: modelled from CPU utilisation, not measured by a power sensor.'
      );
      const advice = estimateAdvice(origin);
      if (advice) {
        lines.push(advice);
      }
    }
    if (typeof part?.limit === 'number') {
      lines.push(
        `Limit: ${formatPower(part.limit)} (${formatPercent(
          (part.usage ?? 0) / part.limit
        )})`
      );
    }
    if (typeof part?.total === 'number') {
      lines.push(`Whole machine: ${formatPower(part.total)}`);
    }
    if (typeof part?.idle === 'number') {
      lines.push(`Idle, not attributed: ${formatPower(part.idle)}`);
    }
    if (this.kind === 'cpu' && typeof model.sample?.dram?.total === 'number') {
      lines.push(`DRAM (machine): ${formatPower(model.sample.dram.total)}`);
    }
    const energy = model.sample?.energy_j;
    const joules = this.kind === 'cpu' ? energy?.cpu : energy?.gpu;
    if (typeof joules === 'number') {
      lines.push(`Energy so far: ${formatEnergy(joules)}`);
    }
    if (part?.source) {
      lines.push(`Source: ${part.source}`);
    }
    // Where the figures come from, and why the node daemon is not used while it is configured.
    for (const line of [describeOrigin(origin), originReason(origin)]) {
      if (line) {
        lines.push(line);
      }
    }
    if (stale) {
      lines.push(`Last update failed (${model.error}); showing the last figures.`);
    }
    lines.push(
      this.sparklineVisible
        ? 'Click to hide recent values; click the sparkline for the panel.'
        : 'Click to show recent values.'
    );
    return lines.join('\n');
  }

  private _model: PowerUsageModel;
  private _settings: SettingsState;
  private _openPanel?: () => void;
  private _label: HTMLSpanElement;
  private _value: HTMLSpanElement;
  private _bar: HTMLSpanElement;
  private _barFill: HTMLSpanElement;
  private _spark: HTMLSpanElement;
  private _polyline: SVGPolylineElement;
  private _quiet = false;
}

/** What each intensity basis means, for the tooltip and the panel. */
export const BASIS_NOTES: { [basis: string]: string } = {
  direct: 'direct: CO₂ from burning fuel in power plants',
  lifecycle: 'lifecycle: CO₂-equivalent over the whole life of plants and fuels'
};

export interface IEmissionsTooltipInput {
  emissions: IEmissions | null | undefined;
  scope?: string;
  /** The scope's energy so far, in J. */
  energyJ?: number;
  /** A problem with the browser's carbon settings (refused PUT, ignored fields). */
  settingsMessage?: string | null;
  /** The page could not reach the server on the last poll. */
  pollError?: string | null;
}

/**
 * The emissions item's tooltip: the server's grams for the scope, the
 * intensity and where it comes from (source, zone, basis, data time), and
 * whether the figure is stale or estimated.
 */
export function emissionsTooltip(input: IEmissionsTooltipInput): string {
  const e = input.emissions;
  const lines: string[] = [];
  if (!e || typeof e.g !== 'number') {
    lines.push(
      'No emissions figure yet: the server has no carbon intensity for this ' +
        'machine (configure a provider or a country on the server).'
    );
  } else {
    lines.push(
      `Emissions so far: ${formatMass(e.g)} CO₂e` +
        (input.scope ? ` (scope: ${input.scope})` : '')
    );
    lines.push(
      `Carbon intensity: ${formatIntensity(e.intensity_g_per_kwh)}` +
        (e.estimated ? ' (estimated)' : '')
    );
    lines.push(`Source: ${e.source || MISSING}`);
    lines.push(`Zone: ${e.zone || MISSING}`);
    if (e.basis) {
      lines.push(`Basis: ${BASIS_NOTES[e.basis] ?? e.basis}`);
    }
    lines.push(`Data time: ${formatIntensityTime(e)}`);
    if (e.stale) {
      lines.push(
        'Stale: the provider could not be reached lately; its last value is used.'
      );
    }
    if (e.estimated) {
      lines.push(
        'Estimated: an annual average, a constant or a modelled value, not a live figure.'
      );
    }
    if (typeof e.pue === 'number' && e.pue !== 1) {
      lines.push(`PUE: ${formatNumber(e.pue)} (data-centre overhead included)`);
    }
    if (typeof input.energyJ === 'number') {
      lines.push(`Energy so far: ${formatEnergy(input.energyJ)}`);
    }
  }
  if (input.pollError) {
    lines.push(`Last update failed (${input.pollError}); showing the last figures.`);
  }
  if (input.settingsMessage) {
    lines.push(`⚠ ${input.settingsMessage}`);
  }
  return lines.join('\n');
}

export interface IEmissionsIndicatorOptions extends IIndicatorOptions {
  /** The browser's carbon settings on their way to the server. */
  carbon?: CarbonSettingsSync | null;
}

/**
 * The emissions item: the scope's grams of CO2-equivalent so far, as the
 * server counts them (the same figure in every tab, unchanged by a reload).
 */
export class EmissionsIndicator extends Widget {
  constructor(options: IEmissionsIndicatorOptions) {
    super();
    this._model = options.model;
    this._carbon = options.carbon ?? null;
    this._openPanel = options.openPanel;
    this.addClass('jp-PowerUsage-indicator');
    this.addClass('jp-PowerUsage-emissions');
    const main = element('div', 'jp-PowerUsage-main', this.node);
    main.setAttribute('role', 'button');
    main.tabIndex = 0;
    element('span', 'jp-PowerUsage-label', main).textContent = 'CO₂e';
    this._value = element('span', 'jp-PowerUsage-value', main);
    this._mark = element('span', 'jp-PowerUsage-warning', main);
    this._mark.textContent = '⚠';
    main.addEventListener('click', () => this._openPanel?.());
    main.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this._openPanel?.();
      }
    });
    this._model.changed.connect(this._render, this);
    this._carbon?.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._render, this);
    this._carbon?.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const model = this._model;
    // With nothing measured the CPU item is the one quiet indicator.
    this.setHidden(model.status === 'loading' || model.nothingMeasured);
    const emissions = model.emissions;
    const settingsMessage = this._carbon?.message ?? null;
    const refused =
      this._carbon?.state === 'refused' || this._carbon?.state === 'error';
    this.toggleClass('jp-PowerUsage-settingsProblem', refused);
    this._mark.hidden = !refused;
    const hasFigure = !!emissions && typeof emissions.g === 'number';
    this.toggleClass('jp-PowerUsage-noData', !hasFigure);
    this.toggleClass('jp-PowerUsage-stale', !!emissions?.stale);
    this.toggleClass('jp-PowerUsage-estimated', !!emissions?.estimated);
    this._value.textContent = hasFigure ? formatMass(emissions!.g) : MISSING;
    let title = emissionsTooltip({
      emissions,
      scope: model.sample?.scope,
      energyJ: model.sample?.energy_j?.total,
      settingsMessage,
      pollError: model.status === 'error' ? model.error : null
    });
    if (!hasFigure) {
      const carbon = model.diagnostics.filter(d =>
        /carbon|intensity|emission|emaps|rte|gb/i.test(d.sensor ?? '')
      );
      if (carbon.length) {
        title += `\n${describeDiagnostics(carbon)}`;
      }
    }
    this.node.title = title;
  }

  private _model: PowerUsageModel;
  private _carbon: CarbonSettingsSync | null;
  private _openPanel?: () => void;
  private _value: HTMLSpanElement;
  private _mark: HTMLSpanElement;
}
