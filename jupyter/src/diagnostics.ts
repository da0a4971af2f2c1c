/**
 * What the engine reports about sensors it does not use, split by what it
 * means to the person looking: a problem (no permission, a sensor that fails
 * or cannot be used, a CPU figure that is only estimated) is shown as one, in
 * the warning colour; a sensor that is simply not on this machine (no NVIDIA
 * driver on a machine without a GPU, no hwmon) is listed quietly, because
 * nothing is wrong and nothing needs fixing.
 */
import { IDiagnostic, IOrigin, ISample } from './types';

export interface IDiagnosticGroups {
  /** Sensors that are there but cannot be read or fail: each says how to fix it. */
  problems: IDiagnostic[];
  /** Sensors the machine does not have (reason `absent`). */
  notFound: IDiagnostic[];
  /**
   * CPU sensors that cannot be read while another one measures the CPU (perf
   * without CAP_PERFMON beside a readable RAPL): nothing to fix.
   */
  notNeeded: IDiagnostic[];
}

/** The sensors that measure only the CPU: one that works makes the others moot. */
const CPU_SENSORS = new Set(['rapl', 'perf']);

/**
 * Split diagnostics: `absent` is "not found"; a CPU sensor's problem while
 * `cpuSource` (the sample's `cpu.source`) is a measured one is "not needed";
 * every other reason is a problem.
 */
export function groupDiagnostics(
  diagnostics: readonly IDiagnostic[] | null | undefined,
  cpuSource: string | null | undefined = null
): IDiagnosticGroups {
  const groups: IDiagnosticGroups = { problems: [], notFound: [], notNeeded: [] };
  const cpuMeasured = !!cpuSource && cpuSource !== 'estimate';
  for (const d of diagnostics ?? []) {
    if (d.reason === 'absent') {
      groups.notFound.push(d);
    } else if (cpuMeasured && CPU_SENSORS.has(d.sensor ?? '') && d.sensor !== cpuSource) {
      groups.notNeeded.push(d);
    } else {
      groups.problems.push(d);
    }
  }
  return groups;
}

/** One line per diagnostic: what is missing, why, and how to fix it. */
export function describeDiagnostics(diagnostics: readonly IDiagnostic[]): string {
  if (!diagnostics.length) {
    return 'The server gave no reason.';
  }
  return diagnostics
    .map(d => {
      const head = [d.sensor, d.reason ? `(${d.reason})` : '']
        .filter(Boolean)
        .join(' ');
      return `• ${head}${head && d.message ? ': ' : ''}${d.message ?? ''}`;
    })
    .join('\n');
}

/** A not-found sensor in the quiet list: its name and what was looked for. */
export function describeNotFound(d: IDiagnostic): string {
  const name = d.sensor || 'sensor';
  if (!d.message) {
    return name;
  }
  // Most engine messages already start with the sensor's name.
  return d.message.startsWith(`${name}:`) ? d.message : `${name}: ${d.message}`;
}

const ORIGIN_LABELS: { [kind: string]: string } = {
  daemon: 'the node daemon jpud',
  server: 'this Jupyter server'
};

/** A text field of the origin, or null when it is absent, empty or not text. */
function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

/**
 * Where the figures come from, as one line ("From: the node daemon jpud
 * (/run/jpu/jpud.sock)", "From: this Jupyter server (in-process)"); null for
 * the answer of an older server, which does not say.
 */
export function describeOrigin(origin: IOrigin | null | undefined): string | null {
  if (!origin || typeof origin !== 'object') {
    return null;
  }
  const kind = text(origin.kind);
  const label = text(origin.label) ?? (kind ? ORIGIN_LABELS[kind] : null) ?? kind;
  if (!label) {
    return null;
  }
  const where =
    kind === 'daemon'
      ? text(origin.socket)
      : kind === 'server'
        ? 'in-process'
        : null;
  return `From: ${label}${where ? ` (${where})` : ''}`;
}

/**
 * Why the configured node daemon is not used now (the figures come from this
 * server meanwhile); null when it is used, when none is configured, or when
 * the server does not say.
 */
export function originReason(origin: IOrigin | null | undefined): string | null {
  const reason = text(origin?.reason);
  if (!reason || text(origin?.kind) === 'daemon') {
    return null;
  }
  return `The node daemon is not used now: ${reason}`;
}

/** What would give measured figures ("For measured figures: …"), or the note that nothing can. */
export function estimateAdvice(origin: IOrigin | null | undefined): string | null {
  const action = text(origin?.action);
  if (action) {
    return `For measured figures: ${action}`;
  }
  return text(origin?.note);
}

/**
 * The problem to show when the CPU figure is modelled, not measured; null
 * when it is measured. With the origin of a newer server it names the one
 * action that would give measured figures on this machine (or says that
 * nothing here can measure); an older server's answer keeps the general text.
 */
export function estimateProblem(sample: ISample | null | undefined): string | null {
  if (sample?.cpu?.source !== 'estimate') {
    return null;
  }
  const basis = typeof sample.cpu.basis === 'string' ? ` (${sample.cpu.basis})` : '';
  const head = `CPU power is estimated${basis}, not measured`;
  if (text(sample.origin?.action)) {
    return `${head}. ${estimateAdvice(sample.origin)}`;
  }
  const note = text(sample.origin?.note);
  if (note) {
    return `${head}: ${note}`;
  }
  return `${head}: no power sensor of this machine can be read by this server.`;
}

function add<K extends keyof HTMLElementTagNameMap>(
  parent: HTMLElement,
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  parent.appendChild(node);
  return node;
}

/**
 * Render the diagnostics into `parent`: a problems block (warning colour)
 * when there is a problem or a headline, and a muted "Not found" list.
 * `headline` is a problem of its own (the CPU is estimated, nothing can be
 * measured) shown first.
 */
export function renderDiagnostics(
  parent: HTMLElement,
  diagnostics: readonly IDiagnostic[] | null | undefined,
  headline: string | null = null,
  cpuSource: string | null = null
): void {
  const { problems, notFound, notNeeded } = groupDiagnostics(diagnostics, cpuSource);
  if (headline || problems.length) {
    const box = add(parent, 'div', 'jp-PowerUsage-problems');
    if (headline) {
      add(box, 'p', 'jp-PowerUsage-problemHeadline', headline);
    }
    if (problems.length) {
      const list = add(box, 'ul', 'jp-PowerUsage-problemList');
      for (const d of problems) {
        const item = add(list, 'li', '', describeDiagnostics([d]).replace(/^• /, ''));
        item.dataset.sensor = d.sensor ?? '';
        item.dataset.reason = d.reason ?? '';
      }
    }
  }
  if (notNeeded.length) {
    const box = add(parent, 'div', 'jp-PowerUsage-notFound jp-PowerUsage-notNeeded');
    add(box, 'span', 'jp-PowerUsage-notFoundTitle', `Not needed: the CPU is measured by ${cpuSource}`);
    const list = add(box, 'ul', '');
    for (const d of notNeeded) {
      const item = add(list, 'li', '', describeNotFound(d));
      item.dataset.sensor = d.sensor ?? '';
    }
  }
  if (notFound.length) {
    const box = add(parent, 'div', 'jp-PowerUsage-notFound');
    add(box, 'span', 'jp-PowerUsage-notFoundTitle', 'Not found on this machine');
    const list = add(box, 'ul', '');
    for (const d of notFound) {
      const item = add(list, 'li', '', describeNotFound(d));
      item.dataset.sensor = d.sensor ?? '';
    }
  }
}
