/**
 * Every number the extension shows is formatted here, so units and precision
 * are the same in the top bar, the tooltips and the panel.
 *
 * Precision rule: about three significant digits, never more than two decimals
 * (`0.42 W`, `3.47 W`, `12.3 W`, `187 W`), and the unit steps up or down so the
 * figure stays between 1 and 1000 where a unit exists for it. `toFixed` is used
 * on purpose: it always writes `.`, whatever the browser's locale.
 */

/** The text shown where a value is unknown. */
export const MISSING = '–';

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A number with about three significant digits and at most two decimals. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  let decimals: number;
  if (abs === 0) {
    return '0';
  } else if (abs < 10) {
    decimals = 2;
  } else if (abs < 100) {
    decimals = 1;
  } else {
    decimals = 0;
  }
  let text = value.toFixed(decimals);
  // Rounding may have produced a negative zero such as "-0.00".
  if (/^-0(\.0+)?$/.test(text)) {
    text = text.slice(1);
  }
  return text;
}

interface IUnit {
  factor: number;
  symbol: string;
}

/** Pick the largest unit in which `value` is at least 1, or the smallest. */
function scaled(value: number, units: IUnit[]): string {
  const abs = Math.abs(value);
  let unit = units[0];
  for (const candidate of units) {
    if (abs >= candidate.factor) {
      unit = candidate;
    }
  }
  if (abs / unit.factor < 0.005) {
    // Too small to show with two decimals: say so rather than print "0.00".
    return `${value < 0 ? '>-' : '<'}0.01 ${unit.symbol}`;
  }
  let figure = formatNumber(value / unit.factor);
  // 999.7 mW rounds to "1000": say 1.00 W instead.
  const next = units[units.indexOf(unit) + 1];
  if (next && Math.abs(Number(figure)) >= 1000) {
    unit = next;
    figure = formatNumber(value / unit.factor);
  }
  return `${figure} ${unit.symbol}`;
}

const POWER_UNITS: IUnit[] = [
  { factor: 1e-3, symbol: 'mW' },
  { factor: 1, symbol: 'W' },
  { factor: 1e3, symbol: 'kW' }
];

/**
 * Power in watts: `0.42 W`, `12.3 W`, `1.25 kW`. Below 10 mW the figure is
 * shown in mW. Unknown or non-finite values give `–`.
 */
export function formatPower(watts: number | null | undefined): string {
  if (!isNumber(watts)) {
    return MISSING;
  }
  if (watts === 0) {
    return '0 W';
  }
  // Watts are the natural unit down to 10 mW; only below that switch to mW.
  if (Math.abs(watts) >= 0.01 && Math.abs(watts) < 1) {
    return `${formatNumber(watts)} W`;
  }
  return scaled(watts, POWER_UNITS);
}

const ENERGY_UNITS: IUnit[] = [
  { factor: 1e-3, symbol: 'mWh' },
  { factor: 1, symbol: 'Wh' },
  { factor: 1e3, symbol: 'kWh' },
  { factor: 1e6, symbol: 'MWh' }
];

/** Energy given in joules, shown in mWh, Wh, kWh or MWh (1 Wh = 3600 J). */
export function formatEnergy(joules: number | null | undefined): string {
  if (!isNumber(joules)) {
    return MISSING;
  }
  if (joules === 0) {
    return '0 Wh';
  }
  return scaled(joules / 3600, ENERGY_UNITS);
}

const MASS_UNITS: IUnit[] = [
  { factor: 1e-3, symbol: 'mg' },
  { factor: 1, symbol: 'g' },
  { factor: 1e3, symbol: 'kg' },
  { factor: 1e6, symbol: 't' }
];

/** A mass of CO2-equivalent given in grams, shown in mg, g, kg or t. */
export function formatMass(grams: number | null | undefined): string {
  if (!isNumber(grams)) {
    return MISSING;
  }
  if (grams === 0) {
    return '0 g';
  }
  return scaled(grams, MASS_UNITS);
}

/** Carbon intensity, e.g. `56 gCO₂e/kWh`. */
export function formatIntensity(gPerKwh: number | null | undefined): string {
  if (!isNumber(gPerKwh)) {
    return MISSING;
  }
  return `${formatNumber(gPerKwh)} gCO₂e/kWh`;
}

/** A share in 0..1 as a percentage: `42 %`, `3.5 %`. */
export function formatPercent(share: number | null | undefined): string {
  if (!isNumber(share)) {
    return MISSING;
  }
  const percent = share * 100;
  const text =
    Math.abs(percent) >= 10 || percent === 0
      ? percent.toFixed(0)
      : percent.toFixed(1);
  return `${text} %`;
}

/** An ISO time as the browser's local date and time; `–` when absent or invalid. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return MISSING;
  }
  const date = new Date(iso);
  if (isNaN(date.getTime())) {
    return MISSING;
  }
  return date.toLocaleString();
}

/**
 * The year an intensity is the annual average of, or null. The engine dates
 * an annual figure (the country table, `source` "table") to 1 January 00:00
 * UTC of its year and marks it `estimated`; a live provider's figure carries
 * the provider's own data time and is a figure of that moment.
 */
export function annualAverageYear(emissions: {
  source?: string;
  time?: string | null;
  estimated?: boolean;
}): number | null {
  if (!emissions.time) {
    return null;
  }
  const date = new Date(emissions.time);
  if (isNaN(date.getTime())) {
    return null;
  }
  const yearStart =
    date.getUTCMonth() === 0 &&
    date.getUTCDate() === 1 &&
    date.getUTCHours() === 0 &&
    date.getUTCMinutes() === 0 &&
    date.getUTCSeconds() === 0 &&
    date.getUTCMilliseconds() === 0;
  if (emissions.source === 'table' || (emissions.estimated === true && yearStart)) {
    return date.getUTCFullYear();
  }
  return null;
}

/**
 * When an intensity was valid: "2024 annual average" for a yearly figure,
 * else the data time in the browser's local date and time.
 */
export function formatIntensityTime(emissions: {
  source?: string;
  time?: string | null;
  estimated?: boolean;
}): string {
  const year = annualAverageYear(emissions);
  return year !== null ? `${year} annual average` : formatTime(emissions.time);
}
