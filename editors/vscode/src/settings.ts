/**
 * Which VS Code settings are the server's, and what to send it.
 *
 * package.json's contributes.configuration is generated from
 * `smalllsp settings --json` (scripts/sync-settings.mjs): each server setting
 * `snake_name` is the VS Code setting `smalllsp.camelName` (VS Code derives
 * the title in its Settings editor from the key: `cacheType` reads "Cache
 * Type", `cache_type` would read "Cache_type"); every key without a further
 * dot is a server setting; `smalllsp.server.*` and `smalllsp.client.*` belong
 * to the extension. Only settings the user set are sent, so the server's own
 * defaults and its SMALLLSP_* environment variables stay in force otherwise.
 *
 * Settings that move data off the machine or read a file (the server marks
 * them user_only: model, engine, remote_*) are contributed with
 * `"scope": "machine"`, and are read from the user's own settings only
 * (inspect().globalValue), never from a workspace's or folder's
 * .vscode/settings.json: a repository cannot point the server at another
 * host or file.
 */
import manifest from "../package.json";

export type SettingValue = string | number | boolean;
export type Settings = Record<string, SettingValue>;

export interface ServerSetting {
  /** The server's name (snake_case), as sent. */
  name: string;
  /** The key under `smalllsp.` in VS Code (camelCase). */
  key: string;
  type: "string" | "integer" | "number" | "boolean";
  default: SettingValue;
  enum?: string[];
  /** Only the user's own settings count (scope machine). */
  userOnly: boolean;
}

/** What `WorkspaceConfiguration.inspect` reports for one setting. */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export const SECTION = "smalllsp";

/** The VS Code key of a server setting: `remote_api_key_file` -> `remoteApiKeyFile`. */
export function keyOf(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The server's name of a VS Code key: `remoteApiKeyFile` -> `remote_api_key_file`. */
export function nameOf(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

interface ManifestProperty {
  type: ServerSetting["type"];
  default: SettingValue;
  enum?: string[];
  scope?: string;
}

const PROPERTIES = manifest.contributes.configuration.properties as Record<string, ManifestProperty>;

/** The server's settings, as contributed in package.json. */
export const SERVER_SETTINGS: ServerSetting[] = Object.entries(PROPERTIES)
  .filter(([key]) => key.startsWith(`${SECTION}.`) && !key.slice(SECTION.length + 1).includes("."))
  .map(([key, property]) => ({
    name: nameOf(key.slice(SECTION.length + 1)),
    key: key.slice(SECTION.length + 1),
    type: property.type,
    default: property.default,
    enum: property.enum,
    userOnly: property.scope === "machine" || property.scope === "application",
  }));

/** Settings whose change needs a new server process: the command line, and
 * the user-only settings, which the server takes only at start-up (in
 * initializationOptions), not from workspace/didChangeConfiguration. */
export const RESTART_SECTIONS = [`${SECTION}.server`, ...SERVER_SETTINGS.filter((s) => s.userOnly).map((s) => `${SECTION}.${s.key}`)];

/**
 * The value of a setting as this extension may use it: for a user-only
 * setting the user's own (global) value, never a workspace or folder one;
 * for the others the most specific scope wins. undefined: not set.
 */
export function explicitValue(seen: Inspected | undefined, userOnly: boolean): unknown {
  const value = userOnly ? seen?.globalValue : (seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue);
  return value === null ? undefined : value;
}

/** The values the user set explicitly, by server name (inspect takes the VS Code key). */
export function explicitSettings(inspect: (key: string) => Inspected | undefined): Settings {
  const settings: Settings = {};
  for (const setting of SERVER_SETTINGS) {
    const value = explicitValue(inspect(setting.key), setting.userOnly);
    if (value !== undefined) {
      settings[setting.name] = value as SettingValue;
    }
  }
  return settings;
}

/**
 * What to send in workspace/didChangeConfiguration when the explicit settings
 * go from `previous` to `next`: the changed values, and the default of each
 * setting the user removed (the server merges, it does not forget).
 * User-only settings are never in it: they restart the server instead.
 */
export function settingsUpdate(previous: Settings, next: Settings): Settings {
  const update: Settings = {};
  const userOnly = new Set(SERVER_SETTINGS.filter((s) => s.userOnly).map((s) => s.name));
  for (const [name, value] of Object.entries(next)) {
    if (previous[name] !== value && !userOnly.has(name)) {
      update[name] = value;
    }
  }
  for (const name of Object.keys(previous)) {
    if (!(name in next)) {
      const setting = SERVER_SETTINGS.find((candidate) => candidate.name === name);
      if (setting && !setting.userOnly) {
        update[name] = setting.default;
      }
    }
  }
  return update;
}
