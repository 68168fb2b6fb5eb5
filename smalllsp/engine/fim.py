"""Fill-in-the-middle templates as data, and detection from a model's vocabulary.

``llama-cpp-python``'s ``create_completion(suffix=...)`` does not build a
correct FIM prompt, so smalllsp assembles the token sequence itself from the
model's own special tokens. A template names those tokens by their text; the
engine resolves them to ids in the loaded vocabulary, and the family whose
tokens all exist is the model's.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence


@dataclasses.dataclass(frozen=True)
class FimTemplate:
    family: str
    prefix: str
    suffix: str
    middle: str
    # "psm": prefix, suffix, middle; "spm": suffix first (Codestral).
    order: str = "psm"
    # Tokens that end a completion besides the model's end-of-generation tokens.
    stops: tuple[str, ...] = ()
    # Repository-level layout, where the family has one.
    repo_name: str | None = None
    file_sep: str | None = None
    # Tokens that tell this family apart from another with the same FIM tokens.
    identified_by: tuple[str, ...] = ()


TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        stops=("<|fim_pad|>", "<|endoftext|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>"),
        repo_name="<|repo_name|>",
        file_sep="<|file_sep|>",
        identified_by=("<|fim_pad|>",),
    ),
    FimTemplate(
        "deepseek",
        "<｜fim▁begin｜>",
        "<｜fim▁hole｜>",
        "<｜fim▁end｜>",
        stops=("<｜end▁of▁sentence｜>", "<|EOT|>"),
    ),
    FimTemplate(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        stops=("<fim_pad>", "<|endoftext|>", "<file_sep>", "<reponame>"),
        repo_name="<reponame>",
        file_sep="<file_sep>",
    ),
    FimTemplate(
        "codegemma",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        stops=("<|file_separator|>", "<eos>"),
        file_sep="<|file_separator|>",
        identified_by=("<|file_separator|>",),
    ),
    FimTemplate("codellama", "▁<PRE>", "▁<SUF>", "▁<MID>", stops=("▁<EOT>",)),
    FimTemplate("codestral", "[PREFIX]", "[SUFFIX]", "[MIDDLE]", order="spm", stops=("</s>",)),
)


class NoFimTokensError(ValueError):
    """The model has no fill-in-the-middle tokens smalllsp knows."""


@dataclasses.dataclass(frozen=True)
class FimTokens:
    """A template resolved against one model's vocabulary."""

    template: FimTemplate
    prefix: int
    suffix: int
    middle: int
    stops: frozenset[int]
    repo_name: int | None = None
    file_sep: int | None = None

    def layout(
        self,
        prefix: Sequence[int],
        suffix: Sequence[int],
        middle: Sequence[int],
        lead: Sequence[int] = (),
    ) -> list[int]:
        """The prompt: FIM tokens around the three parts.

        ``middle`` is the part of the cursor line already typed: it goes after
        the middle token as the start of the answer, so that a keystroke
        changes only the tail of the prompt and the KV cache keeps the rest.
        ``lead`` (the repository-level files) comes before everything.
        """
        if self.template.order == "spm":
            return [*lead, self.suffix, *suffix, self.prefix, *prefix, *middle]
        return [*lead, self.prefix, *prefix, self.suffix, *suffix, self.middle, *middle]


def resolve(
    lookup: Callable[[str], int | None],
    model_name: str,
    templates: Sequence[FimTemplate] = TEMPLATES,
) -> FimTokens:
    """Find the family whose FIM tokens are in the vocabulary.

    ``lookup`` maps a special token's text to its id, or None when the text is
    not a single token of the vocabulary.
    """
    for template in templates:
        prefix, suffix, middle = (
            lookup(t) for t in (template.prefix, template.suffix, template.middle)
        )
        if prefix is None or suffix is None or middle is None:
            continue
        if any(lookup(t) is None for t in template.identified_by):
            continue
        stops = frozenset(i for i in (lookup(t) for t in template.stops) if i is not None)
        repo = lookup(template.repo_name) if template.repo_name else None
        sep = lookup(template.file_sep) if template.file_sep else None
        return FimTokens(
            template,
            prefix,
            suffix,
            middle,
            stops | ({sep} if sep is not None else set()),
            repo,
            sep,
        )
    families = ", ".join(t.family for t in templates)
    raise NoFimTokensError(
        f"model {model_name} has no fill-in-the-middle tokens; smalllsp supports these families: {families}"
    )
