/**
 * Which VS Code settings are the server's, and what to send it.
 *
 * package.json's contributes.configuration is generated from
 * `smalllsp settings --json` (scripts/sync-settings.mjs): every `smalllsp.<name>`
 * without a further dot is a server setting of that name; `smalllsp.server.*`
 * and `smalllsp.client.*` belong to the extension. Only settings the user set
 * (in user, workspace or folder settings) are sent, so the server's own
 * defaults and its SMALLLSP_* environment variables stay in force otherwise.
 */
import manifest from "../package.json";

export type SettingValue = string | number | boolean;
export type Settings = Record<string, SettingValue>;

export interface ServerSetting {
  name: string;
  type: "string" | "integer" | "number" | "boolean";
  default: SettingValue;
  enum?: string[];
}

/** What `WorkspaceConfiguration.inspect` reports for one setting. */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export const SECTION = "smalllsp";

interface ManifestProperty {
  type: ServerSetting["type"];
  default: SettingValue;
  enum?: string[];
}

/** The server's settings, as contributed in package.json. */
export const SERVER_SETTINGS: ServerSetting[] = Object.entries(
  manifest.contributes.configuration.properties as Record<string, ManifestProperty>,
)
  .filter(([key]) => key.startsWith(`${SECTION}.`) && !key.slice(SECTION.length + 1).includes("."))
  .map(([key, property]) => ({
    name: key.slice(SECTION.length + 1),
    type: property.type,
    default: property.default,
    enum: property.enum,
  }));

/** Settings whose change needs a new server process (the command line). */
export const RESTART_SECTIONS = [`${SECTION}.server`];

/** The values the user set explicitly, the most specific scope winning. */
export function explicitSettings(inspect: (name: string) => Inspected | undefined): Settings {
  const settings: Settings = {};
  for (const setting of SERVER_SETTINGS) {
    const seen = inspect(setting.name);
    const value = seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue;
    if (value !== undefined && value !== null) {
      settings[setting.name] = value as SettingValue;
    }
  }
  return settings;
}

/**
 * What to send in workspace/didChangeConfiguration when the explicit settings
 * go from `previous` to `next`: the changed values, and the default of each
 * setting the user removed (the server merges, it does not forget).
 */
export function settingsUpdate(previous: Settings, next: Settings): Settings {
  const update: Settings = {};
  for (const [name, value] of Object.entries(next)) {
    if (previous[name] !== value) {
      update[name] = value;
    }
  }
  for (const name of Object.keys(previous)) {
    if (!(name in next)) {
      const setting = SERVER_SETTINGS.find((candidate) => candidate.name === name);
      if (setting) {
        update[name] = setting.default;
      }
    }
  }
  return update;
}
