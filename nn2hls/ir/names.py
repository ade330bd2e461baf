"""Turn names from model files into unique, safe C++ identifiers.

Rule: every character outside [A-Za-z0-9_] becomes '_', runs of '_' collapse, a leading digit gets a
'n_' prefix, C++ keywords and reserved forms (leading '_' + capital, '__') are avoided, and clashes get
a numeric suffix. The original name is kept on the node (`Node.source_name`) for messages.
"""
from __future__ import annotations

import re

_CPP_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t
class compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield
decltype default delete do double dynamic_cast else enum explicit export extern false float for friend
goto if inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private
protected public register reinterpret_cast requires return short signed sizeof static static_assert
static_cast struct switch template this thread_local throw true try typedef typeid typename union
unsigned using virtual void volatile wchar_t while xor xor_eq main input output result
""".split())

_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def safe_identifier(name: str, taken: set[str] | None = None, fallback: str = "node") -> str:
    """Return a safe identifier for `name`, unique within `taken` (which is updated)."""
    text = _UNSAFE.sub("_", name or "")
    text = re.sub(r"_+", "_", text).strip("_")
    if not text:
        text = fallback
    if text[0].isdigit():
        text = "n_" + text
    if text in _CPP_KEYWORDS:
        text = text + "_"
    candidate = text
    if taken is not None:
        index = 1
        while candidate in taken:
            candidate = f"{text}_{index}"
            index += 1
        taken.add(candidate)
    return candidate
