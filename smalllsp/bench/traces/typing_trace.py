"""Inventory report: the file `smalllsp bench` types, line by line and key by key.

It is ordinary code of the kind small models complete well: data classes,
parsing, small loops. Keep it unchanged so that bench figures stay comparable.
"""

import csv
import dataclasses
from collections import defaultdict
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Item:
    sku: str
    name: str
    category: str
    quantity: int
    unit_price: float

    @property
    def value(self) -> float:
        return self.quantity * self.unit_price


def read_items(path: Path) -> list[Item]:
    """Read items from a CSV file with a header row."""
    items = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            items.append(
                Item(
                    sku=row["sku"],
                    name=row["name"],
                    category=row["category"],
                    quantity=int(row["quantity"]),
                    unit_price=float(row["unit_price"]),
                )
            )
    return items


def total_value(items: list[Item]) -> float:
    """The value of everything in stock."""
    return sum(item.value for item in items)


def value_by_category(items: list[Item]) -> dict[str, float]:
    """The value of the stock in each category."""
    totals: dict[str, float] = defaultdict(float)
    for item in items:
        totals[item.category] += item.value
    return dict(totals)


def low_stock(items: list[Item], threshold: int = 5) -> list[Item]:
    """Items with fewer than `threshold` units left, fewest first."""
    low = [item for item in items if item.quantity < threshold]
    low.sort(key=lambda item: item.quantity)
    return low


def most_valuable(items: list[Item], count: int = 3) -> list[Item]:
    """The `count` items with the highest stock value."""
    ranked = sorted(items, key=lambda item: item.value, reverse=True)
    return ranked[:count]


def format_report(items: list[Item]) -> str:
    """A plain-text report of the stock."""
    lines = [f"Items: {len(items)}", f"Total value: {total_value(items):.2f}"]
    for category, value in sorted(value_by_category(items).items()):
        lines.append(f"  {category}: {value:.2f}")
    lines.append("Low stock:")
    for item in low_stock(items):
        lines.append(f"  {item.sku} {item.name}: {item.quantity} left")
    return "\n".join(lines)


def main() -> None:
    import sys

    items = read_items(Path(sys.argv[1]))
    print(format_report(items))


if __name__ == "__main__":
    main()
