/**
 * How the server is started and what it is told at start-up. The extension
 * and the protocol test (test/protocol.test.ts) both use these, so the test
 * runs the exact command line and initializationOptions the extension sends.
 */
import { LANGUAGES } from "./languages";
import { Settings } from "./settings";

export interface ServerCommand {
  command: string;
  args: string[];
}

/**
 * `<python> -m smalllsp serve` with the interpreter from the
 * `smalllsp.server.pythonPath` setting, else the Python extension's active
 * one, else the `smalllsp` script on PATH. With `clientProcessId` (the
 * extension host's pid), `--clientProcessId=N` is added: the server exits when
 * that process is gone, even if its stdin is never closed.
 */
export function serverCommand(configuredPython: string | undefined, activePython: string | undefined, clientProcessId?: number): ServerCommand {
  const python = configuredPython?.trim() || activePython?.trim();
  const command = python ? { command: python, args: ["-m", "smalllsp", "serve"] } : { command: "smalllsp", args: ["serve"] };
  if (clientProcessId !== undefined) {
    command.args.push(`--clientProcessId=${clientProcessId}`);
  }
  return command;
}

/**
 * The command line vscode-languageclient really runs for an `Executable`
 * with `transport: TransportKind.stdio`: its lib/node/main.js appends
 * `--stdio` to the arguments (and adds `--clientProcessId` only for a
 * `NodeModule`, which is why serverCommand passes it itself). The protocol
 * test spawns exactly this.
 */
export function clientCommandLine(command: ServerCommand): string[] {
  return [command.command, ...command.args, "--stdio"];
}

/** initializationOptions: the user's explicit server settings, flat. */
export function initializationOptions(settings: Settings): Settings {
  return { ...settings };
}

export { LANGUAGES };

/** The document selector: those languages, in files and unsaved editors. */
export function documentSelector(): { scheme: string; language: string }[] {
  return LANGUAGES.flatMap((language) => [
    { scheme: "file", language },
    { scheme: "untitled", language },
  ]);
}

/**
 * The active interpreter from the Python extension's API object (ms-python.python
 * exports), or undefined. Two API generations exist: `environments`
 * (getActiveEnvironmentPath) and the older `settings.getExecutionDetails`.
 */
export function activeInterpreter(api: unknown, resource?: unknown): string | undefined {
  const exports = api as {
    environments?: { getActiveEnvironmentPath?: (resource?: unknown) => { path?: string } | undefined };
    settings?: { getExecutionDetails?: (resource?: unknown) => { execCommand?: string[] } | undefined };
  } | undefined;
  const path = exports?.environments?.getActiveEnvironmentPath?.(resource)?.path;
  if (path) {
    return path;
  }
  return exports?.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
}
