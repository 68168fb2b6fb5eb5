"""Running benchmark code: in a child process, with limits, without a network.

Only benchmark programs (a problem's code with a model-written hole, then
the problem's own tests) come here; the server never runs code. Each runs
in a fresh ``python -I`` (no user site, no environment, no current
directory on the path) in an empty temporary directory with:

* a wall-clock timeout (the whole process group is killed) and a CPU-time limit,
* an address-space limit (an allocation past it raises MemoryError in the child),
* limits on file size, open files and core dumps,
* no network: a fresh network namespace (``unshare -rn``) where the kernel
  allows it, and in any case a preamble that makes every socket call fail.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Sequence

NO_NETWORK = """\
def _smalllsp_no_network(*args, **kwargs):
    raise OSError("the network is off in the smalllsp eval sandbox")
import socket as _smalllsp_socket
for _name in ("socket", "create_connection", "getaddrinfo", "socketpair", "fromfd", "create_server"):
    setattr(_smalllsp_socket, _name, _smalllsp_no_network)
del _name, _smalllsp_socket
"""


@dataclasses.dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0
    memory_mb: int = 1024
    file_mb: int = 16
    open_files: int = 64


@dataclasses.dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str  # "passed", "failed", "timeout", "memory"
    detail: str = ""  # the end of what the program wrote on stderr

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@functools.cache
def network_namespace_available() -> bool:
    """Whether ``unshare -rn`` can give a child its own (empty) network namespace here."""
    if shutil.which("unshare") is None:
        return False
    try:
        return (
            subprocess.run(
                ["unshare", "-rn", "--", "true"], capture_output=True, timeout=10
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def _limit(limits: Limits) -> None:
    """In the child, before exec: the resource limits."""
    cpu = int(limits.timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = limits.file_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_program(source: str, limits: Limits = Limits()) -> Outcome:
    """Run ``source``; it passes when it exits with status 0 within the limits."""
    with tempfile.TemporaryDirectory(prefix="smalllsp-eval-") as directory:
        path = os.path.join(directory, "program.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(NO_NETWORK + "\n" + source)
        command = [sys.executable, "-I", "-B", path]
        if network_namespace_available():
            command = ["unshare", "-rn", "--", *command]
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=functools.partial(_limit, limits),
        )
        try:
            _out, err = process.communicate(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Outcome(False, "timeout", f"killed after {limits.timeout_s:g} s")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    detail = err.decode("utf-8", errors="replace")[-2000:]
    if process.returncode == 0:
        return Outcome(True, "passed")
    if process.returncode == -signal.SIGXCPU:
        return Outcome(False, "timeout", "CPU time limit")
    if "MemoryError" in detail:
        return Outcome(False, "memory", detail)
    return Outcome(False, "failed", detail)


def run_programs(
    sources: Sequence[str], limits: Limits = Limits(), workers: int | None = None
) -> list[Outcome]:
    """Run every program (identical ones once), ``workers`` at a time; outcomes in the order given."""
    unique = list(dict.fromkeys(sources))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        outcomes = dict(zip(unique, pool.map(lambda source: run_program(source, limits), unique)))
    return [outcomes[source] for source in sources]
