// Regenerates the server settings in package.json's contributes.configuration
// from `smalllsp settings --json`, the server's single source of truth.
// Usage: node scripts/sync-settings.mjs [python]  (default: $SMALLLSP_PYTHON,
// else the repository's .venv/bin/python). tests/editors/test_vscode.py
// fails when package.json is out of step with the server.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const manifestPath = join(here, "..", "package.json");
const python = process.argv[2] ?? process.env.SMALLLSP_PYTHON ?? join(here, "..", "..", "..", ".venv", "bin", "python");

const TYPES = { str: "string", int: "integer", float: "number", bool: "boolean" };

export function serverProperties(settings) {
  const properties = {};
  for (const setting of settings) {
    const type = TYPES[setting.type];
    if (!type) {
      throw new Error(`setting ${setting.name}: unknown type ${setting.type}`);
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
    properties[`smalllsp.${setting.name}`] = property;
  }
  return properties;
}

const settings = JSON.parse(execFileSync(python, ["-m", "smalllsp", "settings", "--json"], { encoding: "utf8" }));
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const properties = manifest.contributes.configuration.properties;
const own = Object.fromEntries(Object.entries(properties).filter(([key]) => key.slice("smalllsp.".length).includes(".")));
manifest.contributes.configuration.properties = { ...own, ...serverProperties(settings) };
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
console.log(`package.json: ${settings.length} server settings from ${python}`);
