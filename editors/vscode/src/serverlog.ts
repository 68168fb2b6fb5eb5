/**
 * The server's stderr, line by line, into the LogOutputChannel at the right
 * level, and what to tell the user when the server does not start. No VS
 * Code API here, so it is unit-tested in plain Node.
 *
 * The server logs with Python's logging, in the format
 * `%(asctime)s %(levelname)s %(name)s: %(message)s`. The channel adds its own
 * timestamp and level, so a record is shown as `name: message` at its level.
 * A line that is not a record continues the record before it (a traceback
 * that logging wrote) when it is indented; other lines (llama.cpp's loader,
 * Python's own messages before logging is set up) are shown at info, or at
 * error when they say so (`Traceback`, `...Error:`, `error:`).
 */

export type Level = "debug" | "info" | "warn" | "error";

export interface LogLine {
  level: Level;
  text: string;
}

const RECORD = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/;
const LEVELS: Record<string, Level> = { DEBUG: "debug", INFO: "info", WARNING: "warn", ERROR: "error", CRITICAL: "error" };
const SAYS_ERROR = /^(Traceback \(most recent call last\)|[A-Za-z_][\w.]*(Error|Exception)\b|.*\berror: |.*No module named )/;
const TAIL_LINES = 40;

export class StderrLog {
  private current: Level = "info";
  private inTraceback = false;
  private readonly tail: LogLine[] = [];

  /** One line of stderr: the level and text to show. */
  line(raw: string): LogLine {
    const text = raw.replace(/\s+$/, "");
    const record = RECORD.exec(text);
    let shown: LogLine;
    if (record) {
      this.current = LEVELS[record[1]];
      this.inTraceback = false;
      shown = { level: this.current, text: record[2] };
    } else if (/^\s/.test(text) || (this.inTraceback && text !== "")) {
      shown = { level: this.current, text };
      if (this.inTraceback && !/^\s/.test(text)) {
        this.inTraceback = false; // the exception line ends a traceback
      }
    } else {
      this.current = SAYS_ERROR.test(text) ? "error" : "info";
      this.inTraceback = text.startsWith("Traceback (most recent call last)");
      shown = { level: this.current, text };
    }
    if (shown.text !== "") {
      this.tail.push(shown);
      if (this.tail.length > TAIL_LINES) {
        this.tail.shift();
      }
    }
    return shown;
  }

  /**
   * Why the server stopped, from what it last wrote: its last error (a log
   * record at ERROR, or the exception line of a traceback), else its last
   * line; undefined when it wrote nothing.
   */
  reason(): string | undefined {
    for (let i = this.tail.length - 1; i >= 0; i--) {
      const line = this.tail[i];
      if (line.level === "error" && !/^\s/.test(line.text) && !line.text.startsWith("Traceback (most recent call last)")) {
        return line.text;
      }
    }
    return this.tail.at(-1)?.text.trim();
  }

  /** Forget the last lines (a new server process starts). */
  reset(): void {
    this.tail.length = 0;
    this.current = "info";
    this.inTraceback = false;
  }
}

export interface StartFailure {
  /** The command line that was run. */
  commandLine: string;
  /** What the client reported (spawn error, exit code), if anything. */
  clientError?: string;
  /** The server's own last words on stderr, if any. */
  stderrReason?: string;
  /** Whether the interpreter came from smalllsp.server.pythonPath. */
  configuredPython: boolean;
}

/** The one message shown when the server does not start. */
export function startFailureMessage(failure: StartFailure): string {
  const notFound = failure.clientError !== undefined && /\b(ENOENT|EACCES)\b/.test(failure.clientError);
  const noPackage = failure.stderrReason !== undefined && /No module named '?smalllsp/.test(failure.stderrReason);
  const exit = failure.clientError?.match(/exited with (code \d+|signal \w+)/)?.[1];
  let message = `smalllsp: the server did not start (\`${failure.commandLine}\``;
  message += exit ? `, exit ${exit})` : ")";
  if (notFound) {
    const program = failure.commandLine.split(" ")[0];
    message += `: ${program} cannot be run (${failure.clientError!.match(/\b(ENOENT|EACCES)\b/)![1] === "ENOENT" ? "not found" : "permission denied"})`;
  } else if (failure.stderrReason) {
    message += `: ${failure.stderrReason}`;
  } else if (failure.clientError) {
    message += `: ${failure.clientError}`;
  }
  if (notFound || noPackage) {
    message += failure.configuredPython
      ? ". Check smalllsp.server.pythonPath: it must be a Python that has smalllsp installed."
      : ". Set smalllsp.server.pythonPath to a Python that has smalllsp installed.";
  }
  return message;
}
