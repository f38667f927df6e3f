"""Very large regular expressions compiled once per build store, not once per process.

spaCy's French tokenizer joins some 300 word patterns over Unicode letter classes into one
expression of 1.4 million characters, and Python's regex compiler takes about 3 s on it at
every start of a process that loads the model: most of what loading costs, and a tenth of a
one-article build. While `compiled_from(store)` is active, such a pattern's compiled program
(what re's compiler hands to `_sre.compile`: the flags, a list of ints, the groups) is read
from the store, keyed by the Python version, the pattern and its flags, or compiled and kept.
`_sre.compile` validates the program it is given, so a damaged entry is compiled again.
"""
from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from re import _compiler, _parser  # type: ignore[attr-defined]
from typing import Any

import _sre  # type: ignore[import-not-found]

from .store import StageCache

LARGE_PATTERN = 100_000  # characters; smaller patterns compile in a few milliseconds


def _program(pattern: str, flags: int) -> tuple[Any, ...]:
    """re._compiler.compile's work, stopped before the C call: the arguments of _sre.compile."""
    parsed = _parser.parse(pattern, flags)
    code = [int(op) for op in _compiler._code(parsed, flags)]  # plain ints: the opcodes are named ints
    indexgroup = [None] * parsed.state.groups
    for name, i in parsed.state.groupdict.items():
        indexgroup[i] = name
    return (flags | parsed.state.flags, code, parsed.state.groups - 1, dict(parsed.state.groupdict),
            tuple(indexgroup))


@contextlib.contextmanager
def compiled_from(store: Path | None) -> Iterator[None]:
    """While inside, re compiles large patterns from the store at STORE (None: nothing changes)."""
    if store is None:
        yield
        return
    cache = StageCache(store, sys.version, "patterns")
    original = _compiler.compile

    def compile_large(pattern: Any, flags: int = 0) -> re.Pattern:
        if not isinstance(pattern, str) or len(pattern) < LARGE_PATTERN or flags & re.DEBUG:
            return original(pattern, flags)
        key = cache.key(pattern, str(int(flags)))
        program = cache.get_many([key]).get(key)
        if program is not None:
            try:
                return _sre.compile(pattern, *program)
            except (RuntimeError, TypeError, ValueError):  # not a program this Python accepts
                pass
        program = _program(pattern, int(flags))
        cache.put_many({key: program})
        return _sre.compile(pattern, *program)

    _compiler.compile = compile_large
    try:
        yield
    finally:
        _compiler.compile = original
        cache.close()
