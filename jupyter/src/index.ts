/**
 * Wires the extension: the power model, the settings, the top-bar items
 * (`cpu_power`, `gpu_power`, `emissions`; declared in schema/plugin.json under
 * "jupyter.lab.toolbars" so JupyterLab 4 and Notebook 7 both place them) and
 * the "Power Usage" panel with its command.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IToolbarWidgetRegistry,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Token } from '@lumino/coreutils';

import {
  fetchHistory,
  fetchKernels,
  fetchSample,
  putCarbonSettings
} from './api';
import { CarbonSettingsSync } from './carbon';
import { PowerUsageModel } from './model';
import { PanelModel, PowerPanel } from './panel';
import { SettingsState } from './settings';
import { EmissionsIndicator, PowerIndicator } from './topbar';

/** The id of the main plugin; its settings schema is schema/plugin.json. */
export const PLUGIN_ID = 'jupyter-power-usage:plugin';

export namespace CommandIDs {
  export const openPanel = 'jupyter-power-usage:open-panel';
}

/** What the main plugin provides to the others. */
export interface IPowerUsage {
  model: PowerUsageModel;
  settings: SettingsState;
  /** The browser's `emissions` settings as handed to the server. */
  carbon: CarbonSettingsSync;
  serverSettings: ServerConnection.ISettings;
}

export const IPowerUsage = new Token<IPowerUsage>(
  'jupyter-power-usage:IPowerUsage',
  'The live power model and the settings of the Power Usage extension.'
);

const mainPlugin: JupyterFrontEndPlugin<IPowerUsage> = {
  id: PLUGIN_ID,
  description: 'Shows CPU and GPU power and CO2 emissions in the top bar.',
  autoStart: true,
  requires: [IToolbarWidgetRegistry],
  optional: [ISettingRegistry],
  provides: IPowerUsage,
  activate: (
    app: JupyterFrontEnd,
    toolbarRegistry: IToolbarWidgetRegistry,
    settingRegistry: ISettingRegistry | null
  ): IPowerUsage => {
    const serverSettings = app.serviceManager.serverSettings;
    const settings = new SettingsState();
    const model = new PowerUsageModel({
      fetchSample: () => fetchSample(serverSettings),
      refreshRate: settings.values.refreshRate
    });
    const openPanel = () => {
      if (app.commands.hasCommand(CommandIDs.openPanel)) {
        void app.commands.execute(CommandIDs.openPanel);
      }
    };
    const options = { model, settings, openPanel };
    // The emissions settings go to our own server (which does the fetching),
    // never from the browser to a third party.
    const carbon = new CarbonSettingsSync({
      put: body => putCarbonSettings(serverSettings, body)
    });

    // Factories are registered synchronously so the top bar finds them when it is built.
    toolbarRegistry.addFactory(
      'TopBar',
      'cpu_power',
      () => new PowerIndicator('cpu', options)
    );
    toolbarRegistry.addFactory(
      'TopBar',
      'gpu_power',
      () => new PowerIndicator('gpu', options)
    );
    toolbarRegistry.addFactory(
      'TopBar',
      'emissions',
      () => new EmissionsIndicator({ ...options, carbon })
    );

    settings.changed.connect((_, values) => {
      model.refreshRate = values.refreshRate;
      // Sent only when the emissions settings differ from the last ones sent.
      void carbon.send(values.emissions);
    });
    carbon.changed.connect(() => {
      if (carbon.state === 'ok') {
        // The zone or intensity may have changed: show it without waiting a poll.
        void model.refresh();
      }
    });
    let lastStatus = model.status;
    model.changed.connect(() => {
      // A server that went away and came back (a restart) has forgotten the
      // browser's settings: hand them over again.
      if (lastStatus === 'error' && model.status === 'ok') {
        void carbon.resend();
      }
      lastStatus = model.status;
    });

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          settings.update(loaded.composite);
          loaded.changed.connect(() => settings.update(loaded.composite));
        })
        .catch(reason => {
          console.error(
            'jupyter-power-usage: could not load settings, using defaults.',
            reason
          );
        })
        .then(() => {
          // On load: the saved settings (or the defaults, "the server's settings").
          void carbon.send(settings.values.emissions);
          model.start();
        });
    } else {
      void carbon.send(settings.values.emissions);
      model.start();
    }

    return { model, settings, carbon, serverSettings };
  }
};

const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-power-usage:panel',
  description: 'The Power Usage panel: power and energy over time, per kernel.',
  autoStart: true,
  requires: [IPowerUsage],
  optional: [ICommandPalette, ILabShell, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    power: IPowerUsage,
    palette: ICommandPalette | null,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null
  ) => {
    const tracker = new WidgetTracker<MainAreaWidget<PowerPanel>>({
      namespace: 'jupyter-power-usage'
    });
    let current: MainAreaWidget<PowerPanel> | null = null;

    const create = (): MainAreaWidget<PowerPanel> => {
      const panelModel = new PanelModel({
        fetchHistory: since => fetchHistory(power.serverSettings, since),
        fetchKernels: () => fetchKernels(power.serverSettings),
        refreshRate: power.settings.values.refreshRate
      });
      const onSettings = () => {
        panelModel.poll.interval = power.settings.values.refreshRate;
      };
      power.settings.changed.connect(onSettings);
      const content = new PowerPanel(power.model, panelModel, power.carbon);
      const widget = new MainAreaWidget({ content });
      widget.id = 'jupyter-power-usage-panel';
      widget.title.label = 'Power Usage';
      widget.title.caption = 'Power, energy and emissions of your work';
      widget.title.closable = true;
      widget.disposed.connect(() => {
        power.settings.changed.disconnect(onSettings);
        current = null;
      });
      return widget;
    };

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Power Usage',
      caption: 'Open the Power Usage panel',
      execute: () => {
        if (!current || current.isDisposed) {
          current = create();
          void tracker.add(current);
        }
        if (!current.isAttached) {
          // JupyterLab: a tab in the main area. Notebook 7's main area holds the
          // page's one document and refuses a second widget; its bottom area
          // is a strip too low for the charts. The right side panel is beside
          // the document, full height, and resizable.
          app.shell.add(current, labShell ? 'main' : 'right', { rank: 1000 });
        }
        app.shell.activateById(current.id);
        return current;
      }
    });

    if (palette) {
      palette.addItem({ command: CommandIDs.openPanel, category: 'Power Usage' });
    }
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openPanel,
        name: () => 'power-usage'
      });
    }
  }
};

const plugins: JupyterFrontEndPlugin<any>[] = [mainPlugin, panelPlugin];
export default plugins;
