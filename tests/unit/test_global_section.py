"""The global section and the prompt around it, on the fixture workspace."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from smalllsp import pipeline
from smalllsp.pipeline.context import FIM_OVERHEAD, fit_budgets
from smalllsp.config import Config
from smalllsp.context.definitions import names_near
from smalllsp.context.global_section import Sources, build_global
from smalllsp.context.ring import ChunkRing
from smalllsp.context.window import Cursor, Window
from smalllsp.engine.fim import TEMPLATES, FimTokens
from smalllsp.syntax import symbols
from smalllsp.syntax.languages import EXTENSIONS
from smalllsp.workspace.index import WorkspaceIndex

ROOT = Path(__file__).parent.parent / "fixtures" / "guard_workspace"
QWEN = FimTokens(TEMPLATES[0], 1, 2, 3, frozenset(), repo_name=4, file_sep=5)
DEEPSEEK = FimTokens(TEMPLATES[1], 1, 2, 3, frozenset())


def tokenize(text: str) -> list[int]:
    """About four characters a token; the ids are the characters' codes, so equal text gives equal tokens."""
    return [sum(map(ord, text[i : i + 4])) for i in range(0, len(text), 4)]


def runtime(fim: FimTokens = QWEN, n_ctx: int = 4096) -> SimpleNamespace:
    return SimpleNamespace(tokenize=tokenize, n_ctx=n_ctx, fim=fim)


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def sources_for(index: WorkspaceIndex, relpath: str, chunks=()) -> Sources:
    path = str(ROOT / relpath)
    return Sources(path, relpath, ROOT.name, index.outline_of(path), index, tuple(chunks))


def plan_at(index, relpath, line_text, typed="", config=Config(), fim=QWEN, chunks=()):
    path = ROOT / relpath
    lines = path.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == line_text)
    indent = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
    lines[row] = indent + typed
    cursor = Cursor(lines, row, len(lines[row]))
    return pipeline.plan(
        runtime(fim), config, EXTENSIONS[path.suffix], cursor, sources_for(index, relpath, chunks)
    )


def test_a_definition_from_another_file_is_shown_when_its_symbol_is_used_near_the_cursor(index):
    section = plan_at(index, "shop/checkout.py", "return refund(receipt_id, total)").prompt.section
    shown = {name for _path, name in section.shown}
    assert {"refund", "charge", "apply_discount"} <= shown  # used near the cursor or imported
    text = section.text()
    assert "def refund(receipt_id, amount):" in text and "Refund part or all of a payment." in text
    assert [b.relpath for b in section.blocks if b.kind == "definitions"] == [
        "billing/api.py",
        "shop/cart.py",
    ]
    # a symbol used near the cursor but defined nowhere else stays out
    assert "_validate" not in shown


def test_the_repository_layout_names_every_file(index):
    prompt = plan_at(index, "shop/checkout.py", "return refund(receipt_id, total)").prompt
    lead = prompt.section.lead
    assert (
        lead[0] == QWEN.repo_name and lead.count(QWEN.file_sep) == 3
    )  # two files of definitions, then this one
    assert prompt.tokens[: len(lead)] == list(lead) and prompt.tokens[len(lead)] == QWEN.prefix


def test_models_without_a_repository_layout_get_other_files_as_comments(index):
    prompt = plan_at(
        index, "shop/checkout.py", "return refund(receipt_id, total)", fim=DEEPSEEK
    ).prompt
    assert prompt.section.lead == () and prompt.tokens[0] == DEEPSEEK.prefix
    assert prompt.tokens[1 : 1 + len(prompt.section.prefix_lead)] == list(
        prompt.section.prefix_lead
    )
    first = prompt.section.blocks[0]
    commented = f"# {first.relpath}\n" + "".join(f"# {line}\n" for line in first.text.splitlines())
    assert first.relpath == "billing/api.py" and "# def refund(receipt_id, amount):" in commented
    assert prompt.tokens[1 : 1 + len(tokenize(commented))] == tokenize(commented)


def test_typing_within_the_region_keeps_the_global_section_byte_identical(index):
    before = plan_at(index, "shop/checkout.py", "return total", typed="return ch").prompt
    after = plan_at(index, "shop/checkout.py", "return total", typed="return charg").prompt
    assert before.section == after.section
    head = len(before.section.lead) + 1 + len(before.section.prefix_lead)
    assert before.tokens[:head] == after.tokens[:head]


def test_typing_the_arguments_of_one_call_keeps_the_section_byte_identical(index):
    opened = plan_at(index, "shop/checkout.py", "return total", typed="return charge(").prompt
    assert [b.kind for b in opened.section.blocks][0] == "callee"
    for typed in (
        "return charge(tot",
        "return charge(total, ",
        "return charge(total, len(cart",
        'return charge(total, "E',
    ):
        typing = plan_at(index, "shop/checkout.py", "return total", typed=typed).prompt
        assert typing.section == opened.section, typed
        head = len(opened.section.lead) + 1 + len(opened.section.prefix_lead)
        assert typing.tokens[:head] == opened.tokens[:head]
    # the call closed: no callee any more, the section of plain typing again
    closed = plan_at(
        index, "shop/checkout.py", "return total", typed="return charge(total) + "
    ).prompt
    plain = plan_at(index, "shop/checkout.py", "return total", typed="return ch").prompt
    assert closed.section == plain.section


def test_the_section_stays_within_its_budget_and_the_prompt_within_the_context(index):
    rng = random.Random(7)
    files = [p for p in ROOT.rglob("*") if p.suffix in EXTENSIONS]
    for _ in range(60):
        path = rng.choice(files)
        lines = path.read_text().split("\n")
        row = rng.randrange(len(lines))
        cursor = Cursor(lines, row, rng.randint(0, len(lines[row])))
        n_ctx = rng.choice([256, 512, 1024, 4096])
        config = Config(global_tokens=rng.choice([0, 16, 64, 300, 1024]), max_tokens=64)
        relpath = path.relative_to(ROOT).as_posix()
        planned = pipeline.plan(
            runtime(rng.choice([QWEN, DEEPSEEK]), n_ctx),
            config,
            EXTENSIONS[path.suffix],
            cursor,
            sources_for(index, relpath),
        )
        global_budget, _prefix, _suffix = fit_budgets(
            config, n_ctx - len(tokenize(cursor.before)) - FIM_OVERHEAD
        )
        assert planned.prompt.section.n_tokens <= global_budget
        assert len(planned.prompt.tokens) + config.max_tokens <= n_ctx


def test_a_100k_line_file_reads_only_the_window_and_shows_its_header(index):
    header = ["import os", "from billing.api import charge", "", "RATE = 3", ""]
    body = []
    for i in range(20_000):
        body += [f"def f{i}(x):", f"    y = x + {i}", "    return charge(y)", "", ""]
    lines = header + body
    assert len(lines) > 100_000
    row = 60_002  # inside a function, far below the header
    cursor = Cursor(lines, row, len(lines[row]))
    outline = symbols.outline("python", "\n".join(lines).encode())
    sources = Sources("/tmp/big.py", "big.py", "tmp", outline, index)
    config = Config(prefix_tokens=256, suffix_tokens=64)
    planned = pipeline.plan(runtime(), config, "python", cursor, sources)
    prompt = planned.prompt
    assert 0 < prompt.first_line < row < prompt.last_line < row + 100
    assert prompt.n_prefix <= 256 and prompt.n_suffix <= 64
    blocks = {b.kind: b.text for b in planned.prompt.section.blocks}
    assert blocks["header"] == "import os\nfrom billing.api import charge\n\nRATE = 3\n"
    assert "def charge(" in blocks["definitions"]  # used near the cursor, defined in the workspace


def test_header_and_enclosing_signatures_fill_in_above_a_window_that_slid_past_them(index):
    outline = index.outline_of(str(ROOT / "shop/checkout.py"))
    lines = (ROOT / "shop/checkout.py").read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == "return total")
    chain_start = next(i for i, line in enumerate(lines) if line.startswith("def checkout("))
    from smalllsp.syntax.scope import Scope

    chain = (
        Scope("function", "function_definition", chain_start, row + 1, lines[chain_start].strip()),
    )
    window = Window(lines, row, row - 1, row + 2, chain=chain)
    sources = Sources(str(ROOT / "shop/checkout.py"), "shop/checkout.py", ROOT.name, outline, None)
    section = build_global(sources, window, "python", QWEN, tokenize, 400)
    by_kind = {b.kind: b.text for b in section.blocks}
    assert by_kind["scope"] == "def checkout(cart, prices, coupon=None):\n"
    assert "from billing.api import" in by_kind["header"] and "def " not in by_kind["header"]


def test_ring_chunks_of_other_files_come_in_and_near_copies_of_the_window_stay_out(index):
    ring = ChunkRing(4, 8)
    cart = (ROOT / "shop/cart.py").read_text().split("\n")
    checkout = (ROOT / "shop/checkout.py").read_text().split("\n")
    ring.note(str(ROOT / "shop/cart.py"), "shop/cart.py", cart, 10)
    ring.note(
        str(ROOT / "shop/checkout.py"), "shop/checkout.py", checkout, 16
    )  # the document itself
    prompt = plan_at(index, "shop/checkout.py", "return total", chunks=ring.chunks()).prompt
    chunks = [b for b in prompt.section.blocks if b.kind == "chunk"]
    assert [b.relpath for b in chunks] == ["shop/cart.py"]


def test_ring_replaces_similar_chunks_and_keeps_its_capacity():
    ring = ChunkRing(2, 4)
    lines = [f"line {i}" for i in range(40)]
    ring.note("/a.py", "a.py", lines, 1)
    ring.note("/a.py", "a.py", lines, 2)  # same chunk again
    assert len(ring.chunks()) == 1
    ring.note("/b.py", "b.py", lines, 1)  # the same text from another file: too similar
    assert [c.path for c in ring.chunks()] == ["/b.py"]
    ring.note("/a.py", "a.py", lines, 10)
    ring.note("/a.py", "a.py", lines, 20)
    assert [c.first_line for c in ring.chunks()] == [8, 20]


def test_names_near_the_cursor_come_closest_first_without_the_cursor_line():
    lines = ["alpha = 1", "beta = 2", "typing_here", "gamma = 3"]
    window = Window(lines, 2, 0, 3)
    assert names_near(window) == ["beta", "gamma", "alpha"]
