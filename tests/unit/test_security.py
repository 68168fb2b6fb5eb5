"""The pure parts of issue 21: safe file reads, the workspace boundary, frames and tokens, the settings policy."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from smalllsp.syntax import symbols
from smalllsp import safeio, transport
from smalllsp.config import DEFAULT_PRIVATE_FILES, Config
from smalllsp.context.sources import ContextSources
from smalllsp.workspace import files as files_module
from smalllsp.workspace.boundary import Boundary, private_pattern
from smalllsp.workspace.index import WorkspaceIndex

PATTERNS = Config().private_patterns()


def in_thread(function, timeout: float = 5.0):
    """Run ``function`` in a thread; fail (instead of hanging) when it blocks."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(_outcome(function)), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{function} blocked for {timeout} s"
    kind, value = result[0]
    if kind == "raised":
        raise value
    return value


def _outcome(function):
    try:
        return "returned", function()
    except BaseException as problem:  # noqa: BLE001 - handed back to the test
        return "raised", problem


# -- safe reads -------------------------------------------------------------------------------------


def test_a_fifo_a_device_and_a_directory_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, kind in (
        (fifo, "a FIFO"),
        ("/dev/zero", "a character device"),
        (tmp_path, "a directory"),
    ):
        with pytest.raises(safeio.NotRegularFile, match=f"^{kind}, not a regular file$"):
            in_thread(lambda path=path: safeio.read_regular(str(path), 100))


def test_secret_files_one_printable_line_of_at_most_4_kib(tmp_path):
    key = tmp_path / "key"
    key.write_text("abc-123\n")
    assert safeio.read_secret_file(str(key), "k") == "abc-123"
    cases = {
        "line one\nline two\n": f"k {key} has 2 lines; a key file holds one line",
        "x" * 4097: f"k {key} is over 4096 bytes (a key file holds one line)",
        "\n": f"k {key} is empty",
        "with space": f"k {key} holds characters other than printable ASCII (spaces or control characters)",
    }
    for content, message in cases.items():
        key.write_text(content)
        with pytest.raises(safeio.SecretFileError) as refused:
            safeio.read_secret_file(str(key), "k")
        assert str(refused.value) == message
        assert "line one" not in str(refused.value)
    with pytest.raises(
        safeio.SecretFileError, match=r"^k /dev/zero is a character device, not a regular file$"
    ):
        in_thread(lambda: safeio.read_secret_file("/dev/zero", "k"))
    with pytest.raises(safeio.SecretFileError, match="cannot be read: No such file or directory"):
        safeio.read_secret_file(str(tmp_path / "missing"), "k")
    with pytest.raises(safeio.SecretFileError) as refused:
        safeio.check_secret_text("two\nlines", "the variable K")
    assert (
        str(refused.value)
        == "the variable K holds characters other than printable ASCII (a key is one token)"
    )


# -- the boundary --------------------------------------------------------------------------------------


def test_private_patterns_match_any_case():
    assert PATTERNS == (".env*", "*.pem", "*.key", "id_*", "credentials*", "secrets*")
    assert DEFAULT_PRIVATE_FILES == ",".join(PATTERNS)
    for name, pattern in (
        (".env", ".env*"),
        (".env.local", ".env*"),
        ("Server.PEM", "*.pem"),
        ("id_rsa", "id_*"),
        ("credentials.json", "credentials*"),
        ("Secrets.py", "secrets*"),
        ("tls.key", "*.key"),
    ):
        assert private_pattern(name, PATTERNS) == pattern, name
    for name in ("environment.py", "secret.py", "keys.py", "my_id.py", "util.py"):
        assert private_pattern(name, PATTERNS) is None, name


def test_boundary_reasons(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.py").write_text("X = 1\n")
    repo = tmp_path / "repo"
    (repo / "secrets").mkdir(parents=True)
    (repo / ".gitignore").write_text("local.py\nbuild_out/\n")
    for name in ("ok.py", "local.py", ".env", "secrets/inner.py"):
        (repo / name).write_text("X = 1\n")
    (repo / "link_out.py").symlink_to(outside / "creds.py")
    (repo / "link_in.py").symlink_to(repo / "ok.py")
    (repo / "link_env.py").symlink_to(repo / ".env")
    (repo / "dir_out").symlink_to(outside)
    boundary = Boundary([str(repo)], PATTERNS)
    reasons = {
        name: boundary.private_reason(str(repo / name))
        for name in (
            "ok.py",
            "local.py",
            ".env",
            "secrets/inner.py",
            "link_out.py",
            "link_in.py",
            "link_env.py",
            "dir_out/creds.py",
        )
    }
    assert reasons == {
        "ok.py": None,
        "local.py": "gitignored",
        ".env": "private file (.env*)",
        "secrets/inner.py": "private file (secrets*)",
        "link_out.py": "symlinked outside the workspace",
        "link_in.py": None,
        "link_env.py": "private file (.env*, through a symlink)",
        "dir_out/creds.py": "symlinked outside the workspace",
    }
    # A file outside every root that the user opened on purpose is shared, unless its name is private.
    assert boundary.private_reason(str(outside / "creds.py")) is None
    assert boundary.private_reason(str(outside / "id_ed25519")) == "private file (id_*)"


def test_an_open_private_document_lends_nothing_and_its_close_removes_what_it_put(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text("local.py\n")
    (repo / "util.py").write_text("def shared(): pass\n")
    (repo / "local.py").write_text("def hidden(): pass\n")
    sources = ContextSources(8, 32)
    done = threading.Event()
    sources.start(
        [str(repo)],
        max_files=100,
        max_file_bytes=1 << 20,
        progress=lambda *a: None,
        done=done.set,
        workers=1,
    )
    assert done.wait(10)
    try:
        local, util = (repo / "local.py").as_uri(), (repo / "util.py").as_uri()
        hidden_text, shared_text = (
            "def hidden(): pass\nTOKEN = 'gitignored'\n",
            "def shared(): pass\n",
        )
        sources.refresh(local, "python", hidden_text, 0)
        sources.refresh(util, "python", shared_text, 0)
        # The tree thread hands each open document's outline over: the private one keeps it to itself.
        sources.outline_ready(local, "python", symbols.outline("python", hidden_text.encode()))
        sources.outline_ready(util, "python", symbols.outline("python", shared_text.encode()))
        assert [c.relpath for c in sources.ring.chunks()] == ["util.py"]
        assert sources.index.definitions("hidden") == []
        assert [s.relpath for s in sources.index.definitions("shared")] == ["util.py"]
        own = sources.for_document(local)
        assert [d.name for d in own.outline.definitions] == [
            "hidden",
            "TOKEN",
        ]  # the document keeps its own outline
        # A file that was shared and turns private (a .gitignore added) takes back what it put.
        (repo / ".gitignore").write_text("local.py\nutil.py\n")
        sources.boundary = Boundary([str(repo)], PATTERNS)
        sources.refresh(util, "python", "def shared(): pass\n", 0)
        assert sources.ring.chunks() == ()
        sources.closed(local)
        assert (
            local not in [c.path for c in sources.ring.chunks()]
            and sources.for_document(local).outline is None
        )
    finally:
        sources.stop()


def test_the_index_leaves_out_private_names_and_links_out_of_the_workspace(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.py").write_text("def outside_helper(): pass\n")
    repo = tmp_path / "repo"
    (repo / "credentials").mkdir(parents=True)
    (repo / "credentials" / "aws.py").write_text("def aws(): pass\n")
    (repo / "secrets.py").write_text("def secret_helper(): pass\n")
    (repo / "ok.py").write_text("def ok(): pass\n")
    (repo / "link.py").symlink_to(outside / "creds.py")
    (repo / "passwd.py").symlink_to("/etc/passwd")
    index = WorkspaceIndex([repo], private_patterns=PATTERNS, workers=1)
    index.build()
    assert index.paths() == [str(repo / "ok.py")]
    skipped = index.stats()["skipped"]
    assert (skipped["private"], skipped["outside the workspace"]) == (2, 2)
    # Live updates apply the same rules.
    (repo / "secrets_new.py").write_text("def late(): pass\n")
    index.update_path(repo / "secrets_new.py")
    (repo / "link2.py").symlink_to(outside / "creds.py")
    index.update_path(repo / "link2.py")
    assert index.paths() == [str(repo / "ok.py")]


def test_a_fifo_swapped_in_after_the_walk_is_refused_at_once(tmp_path, monkeypatch):
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(f"def from_{name[0]}(): pass\n")
    real_walk = WorkspaceIndex._walk

    def walk_then_swap(self, *args, **kwargs):
        real_walk(self, *args, **kwargs)
        os.remove(tmp_path / "b.py")
        os.mkfifo(tmp_path / "b.py")  # the race: after the walk saw a regular file, before the read

    monkeypatch.setattr(WorkspaceIndex, "_walk", walk_then_swap)
    index = WorkspaceIndex([tmp_path], workers=1)
    in_thread(index.build)
    assert [os.path.basename(p) for p in index.paths()] == ["a.py", "c.py"]
    assert index.stats()["skipped"]["not a regular file"] == 1
    parsed = files_module.outline_file(str(tmp_path / "b.py"), "python", 1000)
    assert (parsed.skip, parsed.detail) == (
        "not a regular file",
        "not a regular file: a FIFO, not a regular file",
    )


# -- frames and tokens -------------------------------------------------------------------------------


def test_headers_are_bounded_and_checked():
    assert (
        transport.parse_headers(
            b"Content-Length: 12\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8"
        )
        == 12
    )
    for block, message in (
        (
            b"Content-Length: 999999999999",
            "Content-Length 999999999999 is over the limit of 67108864 bytes",
        ),
        (b"Content-Length: -1", "Content-Length is not a number"),
        (b"Content-Length: 1" + b"0" * 30, "Content-Length is not a number"),
        (b"Content-Type: x", "a frame without Content-Length"),
        (b"garbage", "a header line without a colon"),
    ):
        with pytest.raises(transport.FrameError) as refused:
            transport.parse_headers(block)
        assert str(refused.value) == message


def test_read_frame_bounds_and_times_out():
    async def scenario():
        def reader(data: bytes, eof: bool = True) -> asyncio.StreamReader:
            stream = asyncio.StreamReader(limit=transport.MAX_HEADER_BYTES)
            stream.feed_data(data)
            if eof:
                stream.feed_eof()
            return stream

        assert await transport.read_frame(reader(b"Content-Length: 2\r\n\r\n{}"), 1) == b"{}"
        assert await transport.read_frame(reader(b""), 1) is None
        outcomes = []
        for stream in (
            reader(b"Content-Length: 5\r\n\r\n{", eof=False),
            reader(b"X: " + b"a" * 9000, eof=False),
            reader(b"Content-Length: 5\r\n\r\n{"),
        ):
            try:
                await transport.read_frame(stream, 0.2)
            except transport.FrameError as problem:
                outcomes.append(str(problem))
        return outcomes

    assert asyncio.run(scenario()) == [
        "a frame not complete within 0.2 s",
        "headers over 8192 bytes",
        "the connection closed in the middle of a frame",
    ]


def test_the_first_message_must_be_initialize_with_the_token():
    def body(options):
        return (
            '{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "initializationOptions": %s}}'
            % options
        ).encode()

    message, why = transport.check_first_message(body('{"token": "s3", "max_tokens": 4}'), "s3")
    assert why is None and message["params"]["initializationOptions"] == {"max_tokens": 4}
    assert transport.check_first_message(body('{"smalllsp": {"token": "s3"}}'), "s3")[1] is None
    assert (
        transport.check_first_message(body('{"token": "s4"}'), "s3")[1]
        == "this server needs its token in initializationOptions.token"
    )
    assert (
        transport.check_first_message(body("{}"), "s3")[1]
        == "this server needs its token in initializationOptions.token"
    )
    assert transport.check_first_message(body("{}"), None)[1] is None
    assert (
        transport.check_first_message(b'{"jsonrpc": "2.0", "method": "initialized"}', None)[1]
        == "the first message must be an initialize request"
    )
    assert (
        transport.check_first_message(b"not json", None)[1]
        == "the first message must be an initialize request (it is not JSON)"
    )


def test_loopback_addresses():
    assert [
        transport.is_loopback(h) for h in ("127.0.0.1", "127.5.5.5", "::1", "[::1]", "localhost")
    ] == [True] * 5
    assert [transport.is_loopback(h) for h in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.1")] == [
        False
    ] * 4


# -- the settings policy -------------------------------------------------------------------------------


def policy_server(**kwargs):
    from smalllsp.server import SmalllspServer

    server = SmalllspServer(Config(), **kwargs)
    shown: list[str] = []
    server.window_show_message = lambda params: shown.append(params.message)
    return server, shown


def test_user_only_settings_come_from_the_start_up_choice_only():
    server, shown = policy_server()
    server.apply_settings(
        {"engine": "remote", "remote_url": "http://team:8080", "remote_api_key_env": "TEAM_KEY"},
        at_start=True,
    )
    assert (server.config.engine, server.config.remote_url, server.config.remote_api_key_env) == (
        "remote",
        "http://team:8080",
        "TEAM_KEY",
    )
    assert shown == []
    server.apply_settings(
        {
            "smalllsp": {
                "remote_url": "http://evil:1",
                "remote_api_key_file": "/home/u/.ssh/id_rsa",
                "max_tokens": 9,
                "private_files": "",
            }
        }
    )
    assert (
        server.config.remote_url,
        server.config.remote_api_key_file,
        server.config.max_tokens,
    ) == ("http://team:8080", "", 9)
    assert server.config.private_files == DEFAULT_PRIVATE_FILES
    assert len(shown) == 1 and shown[0].startswith(
        "smalllsp: refused a change of remote_url, remote_api_key_file, private_files from workspace/didChangeConfiguration"
    )
    assert "evil" not in shown[0] and "id_rsa" not in shown[0]
    shown.clear()
    server.apply_settings(
        {"remote_url": "http://team:8080", "max_tokens": 10}
    )  # the same values again: nothing refused
    assert shown == [] and server.config.max_tokens == 10


def test_allow_remote_settings_still_keeps_the_key_variable_to_the_start_up_names():
    server, shown = policy_server(allow_remote_settings=True)
    server.apply_settings({"remote_api_key_env": "TEAM_KEY"}, at_start=True)
    server.apply_settings(
        {"remote_url": "http://other:8080", "remote_api_key_env": "AWS_SECRET_ACCESS_KEY"}
    )
    assert (server.config.remote_url, server.config.remote_api_key_env) == (
        "http://other:8080",
        "TEAM_KEY",
    )
    assert shown == [
        "smalllsp: refused remote_api_key_env: it may name only a variable named at start-up"
    ]
    shown.clear()
    server.apply_settings(
        {"remote_api_key_env": "SMALLLSP_REMOTE_API_KEY"}
    )  # the default is always allowed
    assert server.config.remote_api_key_env == "SMALLLSP_REMOTE_API_KEY" and shown == []


def test_setting_problems_never_show_the_value():
    _, problems = Config().merged(
        {
            "remote_url": ["http://x", "sk-123"],
            "n_ctx": "sk-456",
            "log_level": "sk-789",
            "samples": 99,
        }
    )
    assert problems == [
        "setting 'remote_url': expected str, got a list",
        "setting 'n_ctx': expected int, got a str",
        "setting 'log_level': expected one of DEBUG, INFO, WARNING, ERROR, got another value",
        "setting 'samples': expected 1 to 8, got a value out of range",
    ]
