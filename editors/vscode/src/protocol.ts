/**
 * What the extension reads from the server's answers: the cross-file verdict
 * on an inline item's command, and the smalllsp/status report, as text for
 * the status bar. No VS Code API here, so it is unit-tested in plain Node.
 */

export const STATUS_REQUEST = "smalllsp/status";
export const ACCEPTED_COMMAND = "smalllsp.accepted";

export interface Verdict {
  verdict: string;
  reasons: string[];
}

/** The verdict the server put in an item's `smalllsp.accepted` command, if any. */
export function verdictOf(command: { command?: string; arguments?: unknown[] } | undefined): Verdict | undefined {
  if (!command || command.command !== ACCEPTED_COMMAND || !Array.isArray(command.arguments)) {
    return undefined;
  }
  const argument = command.arguments[0] as { verdict?: unknown; reasons?: unknown } | undefined;
  if (!argument || typeof argument.verdict !== "string") {
    return undefined;
  }
  const reasons = Array.isArray(argument.reasons) ? argument.reasons.filter((r): r is string => typeof r === "string") : [];
  return { verdict: argument.verdict, reasons };
}

/** "⚠ cross-file: <first reason>" for a flagged suggestion; undefined for a local one. */
export function verdictLabel(verdict: Verdict | undefined): string | undefined {
  if (!verdict || verdict.verdict !== "cross-file") {
    return undefined;
  }
  return verdict.reasons.length > 0 ? `⚠ cross-file: ${verdict.reasons[0]}` : "⚠ cross-file";
}

/** The most characters of the label shown after the line; the whole text is in its hover and the status bar tooltip. */
export const LABEL_MAX = 72;

/** The label as shown after the line: cut at LABEL_MAX characters with an ellipsis, so a long reason never runs past the window. */
export function shortLabel(label: string, max = LABEL_MAX): string {
  const chars = Array.from(label);
  return chars.length <= max ? label : `${chars.slice(0, max - 1).join("").trimEnd()}…`;
}

/** The first flagged item's verdict and label among an answer's items, if any is flagged. */
export function flagged(
  items: { command?: { command?: string; arguments?: unknown[] } }[],
): { verdict: Verdict; label: string } | undefined {
  for (const item of items) {
    const verdict = verdictOf(item.command);
    const label = verdictLabel(verdict);
    if (verdict && label) {
      return { verdict, label };
    }
  }
  return undefined;
}

/** The fields of a smalllsp/status answer the extension shows. */
export interface ServerStatus {
  state: string;
  error?: string | null;
  model?: string | null;
  device?: string | null;
  load_seconds?: number | null;
  last_latency_ms?: number | null;
  version?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
}

/** The status bar item: loading, ready, failed, stopped or disabled, and details on hover. */
export function statusView(status: ServerStatus | undefined, enabled: boolean, progress?: string): StatusView {
  if (!enabled) {
    return { text: "$(circle-slash) smalllsp", tooltip: "smalllsp: suggestions are off (command: smalllsp: Toggle suggestions)" };
  }
  if (progress) {
    return { text: "$(loading~spin) smalllsp", tooltip: progress };
  }
  if (!status) {
    return { text: "$(loading~spin) smalllsp", tooltip: "smalllsp: starting the server" };
  }
  const lines = [`${status.version ? `smalllsp ${status.version}` : "smalllsp"}: ${status.state}`];
  if (status.error) {
    lines.push(status.error);
  }
  if (status.model) {
    lines.push(`${status.model} on ${status.device ?? "?"}`);
  }
  if (typeof status.load_seconds === "number") {
    lines.push(`loaded in ${status.load_seconds.toFixed(2)} s`);
  }
  if (typeof status.last_latency_ms === "number") {
    lines.push(`last completion ${Math.round(status.last_latency_ms)} ms`);
  }
  const tooltip = lines.join("\n");
  switch (status.state) {
    case "ready": {
      const latency = typeof status.last_latency_ms === "number" ? ` ${Math.round(status.last_latency_ms)} ms` : "";
      return { text: `$(sparkle) smalllsp${latency}`, tooltip };
    }
    case "loading":
      return { text: "$(loading~spin) smalllsp", tooltip };
    case "failed":
      return { text: "$(error) smalllsp", tooltip };
    default:
      return { text: `$(question) smalllsp: ${status.state}`, tooltip };
  }
}
