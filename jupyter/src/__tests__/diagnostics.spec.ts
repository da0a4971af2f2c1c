import {
  estimateProblem,
  groupDiagnostics,
  renderDiagnostics
} from '../diagnostics';
import { IDiagnostic } from '../types';

// As the engine reports them on a RAPL machine without a GPU (tests/golden/intel-laptop.json).
const notFound: IDiagnostic[] = [
  { sensor: 'perf', reason: 'absent', message: 'perf: no power event could be opened' },
  { sensor: 'hwmon', reason: 'absent', message: 'hwmon: no class/hwmon in sysfs' },
  { sensor: 'nvml', reason: 'absent', message: 'no NVIDIA driver (libnvidia-ml.so.1 not found)' }
];
const permission: IDiagnostic = {
  sensor: 'rapl',
  reason: 'permission',
  message: 'energy_uj is readable by root only: see docs/permissions.md'
};
const failing: IDiagnostic = {
  sensor: 'nvml',
  reason: 'unsupported',
  message: 'the driver was upgraded without reloading the kernel module: reboot'
};

describe('groupDiagnostics', () => {
  it('puts absent sensors in "not found" and every other reason in problems', () => {
    const groups = groupDiagnostics([...notFound, permission, failing, { sensor: 'x', reason: 'error' }]);
    expect(groups.notFound.map(d => d.sensor)).toEqual(['perf', 'hwmon', 'nvml']);
    expect(groups.problems.map(d => d.reason)).toEqual(['permission', 'unsupported', 'error']);
    expect(groupDiagnostics(undefined)).toEqual({ problems: [], notFound: [], notNeeded: [] });
  });

  it('does not call a CPU sensor a problem while another one measures the CPU', () => {
    const perf: IDiagnostic = {
      sensor: 'perf',
      reason: 'permission',
      message: 'perf: system-wide power events need CAP_PERFMON'
    };
    const measured = groupDiagnostics([perf, failing, ...notFound], 'rapl');
    expect(measured.notNeeded).toEqual([perf]);
    expect(measured.problems).toEqual([failing]);
    // estimated: every sensor that could measure is a problem again
    expect(groupDiagnostics([perf], 'estimate').problems).toEqual([perf]);
    expect(groupDiagnostics([perf]).problems).toEqual([perf]);
  });
});

describe('renderDiagnostics', () => {
  let box: HTMLElement;
  beforeEach(() => {
    box = document.createElement('div');
  });

  it('lists sensors that are merely not found quietly, with no problem block', () => {
    renderDiagnostics(box, notFound, estimateProblem({ cpu: { usage: 3, source: 'rapl' } }));
    expect(box.querySelector('.jp-PowerUsage-problems')).toBeNull();
    const quiet = box.querySelector('.jp-PowerUsage-notFound');
    expect(quiet?.textContent).toContain('Not found on this machine');
    const items = Array.from(quiet!.querySelectorAll('li')).map(li => li.textContent);
    expect(items).toEqual([
      'perf: no power event could be opened',
      'hwmon: no class/hwmon in sysfs',
      'nvml: no NVIDIA driver (libnvidia-ml.so.1 not found)'
    ]);
    // Nothing in the warning style names a sensor that is simply absent.
    expect(box.querySelector('.jp-PowerUsage-why')).toBeNull();
  });

  it('shows a permission problem as a problem, the absent ones still quietly', () => {
    renderDiagnostics(box, [permission, ...notFound]);
    const problems = box.querySelector('.jp-PowerUsage-problems');
    expect(problems).not.toBeNull();
    const items = problems!.querySelectorAll('li');
    expect(items).toHaveLength(1);
    expect(items[0].dataset.reason).toBe('permission');
    expect(items[0].textContent).toContain('rapl (permission): energy_uj is readable by root only');
    expect(problems!.textContent).not.toContain('nvml');
    expect(box.querySelectorAll('.jp-PowerUsage-notFound li')).toHaveLength(3);
  });

  it('shows an estimated CPU as a problem even when every sensor is only absent', () => {
    const sample = {
      cpu: { usage: 2, source: 'estimate', basis: 'TDP curve of the CPU model' }
    };
    renderDiagnostics(box, notFound, estimateProblem(sample));
    const headline = box.querySelector('.jp-PowerUsage-problems .jp-PowerUsage-problemHeadline');
    expect(headline?.textContent).toMatch(/^CPU power is estimated \(TDP curve of the CPU model\), not measured/);
    expect(box.querySelectorAll('.jp-PowerUsage-problems li')).toHaveLength(0);
    expect(box.querySelectorAll('.jp-PowerUsage-notFound li')).toHaveLength(3);
  });

  it('renders nothing when there is nothing to say', () => {
    renderDiagnostics(box, []);
    expect(box.childElementCount).toBe(0);
  });
});
