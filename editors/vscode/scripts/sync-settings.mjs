// Regenerates the server settings in package.json's contributes.configuration
// from `smalllsp settings --json`, the server's single source of truth.
// Usage: node scripts/sync-settings.mjs [python]  (default: $SMALLLSP_PYTHON,
// else the repository's .venv/bin/python). tests/editors/test_vscode.py
// fails when package.json is out of step with the server.
//
// - Keys: the server's `snake_name` becomes `smalllsp.camelName`. VS Code
//   1.100 has no per-setting title: its Settings editor derives the title
//   from the key's last segment (`cacheType` reads "Cache Type", `cache_type`
//   would read "Cache_type"). src/settings.ts maps the keys back.
// - order: the server's own order (VS Code would sort them alphabetically),
//   after the extension's own settings.
// - scope: "machine" for the settings the server marks user_only (they move
//   data off the machine or read a file: model, engine, remote_*). VS Code
//   then takes them only from user (or remote-machine) settings, never from a
//   workspace's .vscode/settings.json. "machine" rather than "application":
//   they are paths and hosts of the machine the server runs on (remote SSH or
//   code-server included), and Settings Sync does not copy them to another
//   machine.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const manifestPath = join(here, "..", "package.json");
const python = process.argv[2] ?? process.env.SMALLLSP_PYTHON ?? join(here, "..", "..", "..", ".venv", "bin", "python");

const TYPES = { str: "string", int: "integer", float: "number", bool: "boolean" };
// the extension's own settings come first in the Settings editor
const OWN_ORDER = { "smalllsp.server.pythonPath": 0, "smalllsp.client.enabled": 1 };

export function keyOf(name) {
  return name.replace(/_([a-z0-9])/g, (_match, letter) => letter.toUpperCase());
}

export function nameOf(key) {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

export function serverProperties(settings) {
  const properties = {};
  settings.forEach((setting, index) => {
    const type = TYPES[setting.type];
    if (!type) {
      throw new Error(`setting ${setting.name}: unknown type ${setting.type}`);
    }
    const key = keyOf(setting.name);
    if (nameOf(key) !== setting.name) {
      throw new Error(`setting ${setting.name}: its VS Code key ${key} does not map back to it`);
    }
    const property = { type, default: setting.default, markdownDescription: setting.doc };
    if (setting.choices.length > 0) {
      property.enum = setting.choices;
    }
    if (setting.minimum !== null && setting.minimum !== undefined) {
      property.minimum = setting.minimum;
    }
    if (setting.maximum !== null && setting.maximum !== undefined) {
      property.maximum = setting.maximum;
    }
    if (setting.user_only) {
      property.scope = "machine";
    }
    property.order = Object.keys(OWN_ORDER).length + index;
    properties[`smalllsp.${key}`] = property;
  });
  return properties;
}

const settings = JSON.parse(execFileSync(python, ["-m", "smalllsp", "settings", "--json"], { encoding: "utf8" }));
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const properties = manifest.contributes.configuration.properties;
const own = Object.fromEntries(Object.entries(properties).filter(([key]) => key.slice("smalllsp.".length).includes(".")));
for (const [key, order] of Object.entries(OWN_ORDER)) {
  if (own[key]) {
    own[key].order = order;
  }
}
// the program the extension runs is the user's choice, never a repository's
own["smalllsp.server.pythonPath"].scope = "machine";
const serverOwn = serverProperties(settings);
manifest.contributes.configuration.properties = { ...own, ...serverOwn };
const restricted = Object.entries(manifest.contributes.configuration.properties)
  .filter(([, property]) => property.scope === "machine")
  .map(([key]) => key);
manifest.capabilities = {
  ...manifest.capabilities,
  untrustedWorkspaces: {
    supported: "limited",
    description:
      "In an untrusted workspace, smalllsp runs with the user's own settings only: the interpreter, the model and the engine settings are never taken from the workspace.",
    restrictedConfigurations: restricted,
  },
};
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
console.log(`package.json: ${settings.length} server settings from ${python}; ${restricted.length} of machine scope`);
