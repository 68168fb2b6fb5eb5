"""The cross-file guard on a labelled set of completions in a fixture workspace.

Each case replaces one line of a fixture file with a candidate, as if the
model had written it there, and says whether the model saw the workspace's
definitions (the global section on or off) and what the verdict must be.
The set runs through the real pipeline pieces (window, global section,
workspace index, guard) with a stand-in tokenizer, and the guard's precision
and recall on it are held to the project's thresholds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from smalllsp import guard, pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.fim import TEMPLATES, FimTokens
from smalllsp.syntax.languages import EXTENSIONS
from smalllsp.workspace.index import WorkspaceIndex

ROOT = Path(__file__).parent.parent / "fixtures" / "guard_workspace"
QWEN = FimTokens(TEMPLATES[0], 1, 2, 3, frozenset(), repo_name=4, file_sep=5)
# About four characters a token, like a BPE vocabulary on code.
RUNTIME = SimpleNamespace(tokenize=lambda text: [0] * ((len(text) + 3) // 4), n_ctx=4096, fim=QWEN)
X, L = guard.CROSS_FILE, guard.LOCAL


@dataclasses.dataclass(frozen=True)
class Case:
    file: str
    line: str  # the line (stripped) the candidate replaces
    candidate: str
    seen: bool  # whether the global section shows the workspace's definitions
    expected: str


CASES = [
    # Python: calls into billing/api.py and shop/cart.py from shop/checkout.py
    Case("shop/checkout.py", "return total", "return charge(total)", False, X),
    Case("shop/checkout.py", "return total", "return charge(total)", True, L),
    Case("shop/checkout.py", "return total", "return charge(total, DEFAULT_CURRENCY)", True, L),
    Case("shop/checkout.py", "return total", 'return charge(total, "EUR", 3)', True, X),
    Case("shop/checkout.py", "return total", 'return charge(currency="USD")', True, X),
    Case("shop/checkout.py", "return total", 'return charge(total, curency="USD")', True, X),
    Case("shop/checkout.py", "return total", "return apply_discount(total, 10)", True, L),
    Case("shop/checkout.py", "return total", "return apply_discount(total)", True, X),
    Case("shop/checkout.py", "return total", "return apply_discount(total, coupon)", False, X),
    Case("shop/checkout.py", "return total", "return Gateway(API_KEY).capture(total)", False, X),
    Case("shop/checkout.py", "return total", 'raise PaymentError("declined")', False, X),
    Case("shop/checkout.py", "return total", "currency = DEFAULT_CURRENCY", False, X),
    Case("shop/checkout.py", "return total", "return round(total * 1.2, 2)", False, L),
    Case("shop/checkout.py", "return total", "return prices.get(coupon, 0)", False, L),
    Case("shop/checkout.py", "return total", "_validate(cart)", False, L),
    Case("shop/checkout.py", "return total", 'log.info("total %s", total)', False, L),
    Case("shop/checkout.py", "return total", "return len(cart.items) and total", False, L),
    Case(
        "shop/checkout.py",
        "return total",
        "return {sku: qty for sku, _price, qty in cart.items}",
        False,
        L,
    ),
    Case(
        "shop/checkout.py", "return total", 'logging.getLogger("shop").debug("%s", total)', False, L
    ),
    Case(
        "shop/checkout.py",
        "return refund(receipt_id, total)",
        "return refund(receipt_id, total)",
        False,
        X,
    ),
    Case(
        "shop/checkout.py",
        "return refund(receipt_id, total)",
        "return refund(receipt_id, total)",
        True,
        L,
    ),
    # Python: editing billing/api.py itself, whose functions shop/checkout.py calls
    Case(
        "billing/api.py",
        "def refund(receipt_id, amount):",
        "def refund(receipt_id, amount, reason):",
        False,
        X,
    ),
    Case(
        "billing/api.py",
        "def refund(receipt_id, amount):",
        "def refund(receipt_id, amount):",
        False,
        L,
    ),
    Case(
        "billing/api.py",
        "def refund(receipt_id, amount):",
        "def refund_payment(receipt_id, amount):",
        False,
        X,
    ),
    Case(
        "billing/api.py",
        'return {"receipt": receipt_id, "refunded": amount}',
        'return {"receipt": receipt_id, "amount": amount}',
        False,
        L,
    ),
    Case(
        "billing/api.py",
        'return {"captured": payment_id}',
        'return {"captured": payment_id, "key": self.api_key}',
        False,
        L,
    ),
    # JavaScript and TypeScript
    Case(
        "web/app.js",
        "const orders = await loadOrders(user);",
        "const orders = await fetchOrders(user.id);",
        False,
        X,
    ),
    Case(
        "web/app.js",
        "const orders = await loadOrders(user);",
        "const orders = await fetchOrders(user.id, { cache: 'no-store' });",
        True,
        L,
    ),
    Case(
        "web/app.js",
        "return orders;",
        "return orders.map((o) => o.total).reduce((a, b) => a + b, 0);",
        False,
        L,
    ),
    Case("web/app.js", "return orders;", "console.log(orders.length);", False, L),
    Case(
        "web/view.ts", "return label;", "return `${label}: ${formatPrice(order.cents)}`;", True, L
    ),
    Case("web/view.ts", "return label;", "return `${label}: ${formatPrice()}`;", True, X),
    Case(
        "web/view.ts", "return label;", "return label + formatPrice(order.cents, 'USD');", False, X
    ),
    Case("web/view.ts", "return label;", "return label.padStart(10, ' ');", False, L),
    # Go
    Case("server/handler.go", "return key, nil", "item, err := h.store.Get(key)", False, X),
    Case(
        "server/handler.go",
        "return key, nil",
        'return fmt.Sprintf("%s!", strings.TrimSpace(key)), nil',
        False,
        L,
    ),
    Case("server/handler.go", "return key, nil", "return strings.ToUpper(key), nil", False, L),
    # Rust
    Case("engine/src/main.rs", "count += 1;", "let token = parse_line(line, true)?;", False, X),
    Case(
        "engine/src/main.rs", "count += 1;", "count += line.split_whitespace().count();", False, L
    ),
    # Java
    Case(
        "java/OrderService.java",
        "int left = 0;",
        "int left = inventory.reserve(sku, quantity);",
        False,
        X,
    ),
    Case(
        "java/OrderService.java", "int left = 0;", 'System.out.println("placing " + sku);', False, L
    ),
    # C and C++
    Case("native/main.c", "return 0;", "return ring_push(&r, &item, sizeof item);", False, X),
    Case("native/main.c", "return 0;", "memset(&r, 0, sizeof r);", False, L),
    Case("cpp/main.cpp", "return total;", "return multiply(a, b).cells[0];", False, X),
    Case("cpp/main.cpp", "return total;", "std::vector<double> diagonal(a.rows, 0.0);", False, L),
    Case("cpp/main.cpp", "return total;", "return total + a.cells.size();", False, L),
]


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def judge(index: WorkspaceIndex, case: Case) -> guard.Verdict:
    path = ROOT / case.file
    lines = path.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == case.line)
    indent = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
    lines[row] = indent
    cursor = Cursor(lines, row, len(indent))
    language_id = EXTENSIONS[path.suffix]
    sources = Sources(str(path), case.file, ROOT.name, index.outline_of(str(path)), index)
    config = Config(global_tokens=1024 if case.seen else 0)
    ctx = pipeline.plan(RUNTIME, config, language_id, cursor, sources)
    assert ctx.guard is not None
    return guard.judge(ctx.guard, case.candidate)


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c.file}:{c.candidate[:40]}:{'seen' if c.seen else 'unseen'}"
)
def test_each_labelled_case(index, case):
    verdict = judge(index, case)
    assert verdict.kind == case.expected, verdict.reasons


def test_precision_and_recall_on_the_labelled_set(index, capsys):
    outcomes = [(judge(index, case).cross_file, case.expected == X) for case in CASES]
    true_positive = sum(1 for got, want in outcomes if got and want)
    flagged = sum(1 for got, _ in outcomes if got)
    wanted = sum(1 for _, want in outcomes if want)
    precision = true_positive / flagged if flagged else 1.0
    recall = true_positive / wanted
    with capsys.disabled():
        print(
            f"\nguard on {len(CASES)} labelled cases ({wanted} cross-file): precision {precision:.2f}, recall {recall:.2f}"
        )
    assert precision >= 0.9 and recall >= 0.8


def test_reasons_name_the_symbol_and_its_file(index):
    unseen = judge(index, CASES[0])
    assert unseen.reasons == ("uses charge() from billing/api.py, not seen by the model",)
    wrong_arity = judge(index, CASES[3])
    assert (
        "charge()" in wrong_arity.reasons[0] and "3 positional arguments" in wrong_arity.reasons[0]
    )
    changed = judge(index, CASES[21])
    assert changed.reasons == ("changes the parameters of refund(), which shop/checkout.py uses",)
    renamed = judge(index, CASES[23])
    assert renamed.reasons == ("renames refund() to refund_payment(), which shop/checkout.py uses",)


def test_without_an_index_everything_is_local():
    context = guard.GuardContext("python", None, "x = ", "\n", 0, frozenset(), "", "", None)
    assert guard.judge(context, "charge(1)") == guard.LOCAL_VERDICT
