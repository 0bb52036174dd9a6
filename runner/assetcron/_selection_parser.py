"""A hand-written recursive-descent parser for Dagster's asset-selection strings.

The grammar is Dagster 1.13's ``AssetSelection.g4`` (ANTLR), restricted to what can be
resolved from asset definitions alone::

    selection  := or_expr EOF
    or_expr    := and_expr (("or" | "OR") and_expr)*
    and_expr   := not_expr (("and" | "AND") not_expr)*
    not_expr   := ("not" | "NOT") not_expr | "*" | traversal
    traversal  := [DIGITS? "+"] primary ["+" DIGITS?]
    primary    := attribute | ("sinks" | "roots") "(" or_expr ")" | "(" or_expr ")"
    attribute  := "key" ":" (QUOTED | NAME | PATTERN)
                | ("tag") ":" value ["=" value]
                | ("owner" | "group" | "kind" | "is") ":" value
    value      := QUOTED | NAME | "<null>" | "sensor" | "schedule" | "job"

so precedence is NOT > AND > OR and both binary operators associate to the left.
Tokens follow the ANTLR lexer: longest match, keywords win ties; NAME is
``[a-zA-Z_][a-zA-Z0-9_/]*``, PATTERN also allows ``*``; QUOTED is ``"..."`` without
``"``, ``\\`` or line breaks; blanks separate tokens and are otherwise ignored. A keyword
(``key``, ``and``, ...) is not a NAME: quote it (``key:"and"``).

Semantics, as in Dagster's ``AntlrAssetSelectionVisitor``:

- ``N+x`` is ``x.upstream(N)``, ``x+N`` is ``x.downstream(N)``; WITHOUT a number the
  traversal is unbounded (``+key:x`` is every ancestor); ``N+x+M`` is the union
  ``x.upstream(N) | x.downstream(M)``;
- ``not x`` is ``all() - x``; ``key:`` uses ``*`` wildcards over the user string
  (``a/b``); ``tag:k`` is ``tag(k, "")`` (empty value only); ``group:"g*"`` (quoted, with
  ``*``) is a group pattern; ``<null>`` is Dagster's null value.

When the string does not parse, Dagster falls back to its legacy syntax for a whole
string of one clause, and so do we: ``a``, ``a/b``, ``*a``, ``+a``, ``++a``, ``a+``,
``a*``, ``*a*`` (``+`` per level, ``*`` unbounded; the name is an exact key), and
``tag:k=v`` with characters the new syntax rejects (``tag:team-a``). Otherwise the
error is the new parser's :class:`SelectionSyntaxError`.

Dagster attributes that need a Dagster instance or metadata assetcron does not keep
(``status:``, ``column:``, ``code_location:``, ``partitions:``, ``sensor:`` ...) are
rejected with a :class:`SelectionSyntaxError` naming the attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assetcron._errors import InvalidDefinitionError, SelectionSyntaxError
from assetcron._graph import AssetKey
from assetcron._selection import (
    AllSelection,
    AssetSelection,
    DownstreamSelection,
    GroupPatternSelection,
    GroupsSelection,
    KeyPatternSelection,
    KeysSelection,
    KindSelection,
    OwnerSelection,
    SubtractSelection,
    TagSelection,
    UpstreamSelection,
)

__all__ = ["parse"]

# Token kinds.
_EOF = "end of input"
_NAME = "name"
_PATTERN = "pattern"
_QUOTED = "quoted string"
_DIGITS = "number"
_NULL = "<null>"

#: Keywords of the ANTLR lexer; each is its own token kind (spelled like the keyword).
_OPERATORS = {"and": "and", "AND": "and", "or": "or", "OR": "or", "not": "not", "NOT": "not"}
_ATTRIBUTES_SUPPORTED = ("key", "tag", "owner", "group", "kind", "is")
_ATTRIBUTES_UNSUPPORTED = (
    "code_location",
    "status",
    "column",
    "table_name",
    "column_tag",
    "changed_in_branch",
    "partitions",
    "automation_type",
    "sensor",
    "schedule",
    "job",
    "not_materialized_in_hours",
)
_FUNCTIONS = ("sinks", "roots")
_KEYWORDS = frozenset((*_OPERATORS, *_ATTRIBUTES_SUPPORTED, *_ATTRIBUTES_UNSUPPORTED, *_FUNCTIONS))
#: Keyword tokens Dagster's ``value`` rule accepts as plain values.
_KEYWORD_VALUES = frozenset({"sensor", "schedule", "job"})
_PUNCTUATION = {"=": "=", "*": "*", "+": "+", ":": ":", "(": "(", ")": ")", ",": ","}

_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_/]*")
_PATTERN_RE = re.compile(r"[a-zA-Z_*][a-zA-Z0-9_*/]*")
_DIGITS_RE = re.compile(r"[0-9]+")
_QUOTED_RE = re.compile(r'"[^"\\\r\n]*"')
_BLANK = " \t\r\n"

#: Dagster's legacy single-clause syntax (``dagster._core.selector.subset_selector``).
_LEGACY_CLAUSE = re.compile(r"^(\*?\+*)?([./\w\d\[\]?_-]+)(\+*\*?)?$")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    column: int  # 1-based

    def describe(self) -> str:
        return "the end of the selection" if self.kind == _EOF else repr(self.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch in _BLANK:
            pos += 1
            continue
        column = pos + 1
        if ch == '"':
            m = _QUOTED_RE.match(text, pos)
            if m is None:
                raise SelectionSyntaxError(
                    'unterminated quoted string (a value in "..." may not contain '
                    '", \\ or a line break)',
                    text=text,
                    column=column,
                    token=text[pos:],
                )
            tokens.append(_Token(_QUOTED, m.group(), column))
            pos = m.end()
        elif text.startswith("<null>", pos):
            tokens.append(_Token(_NULL, "<null>", column))
            pos += len("<null>")
        elif ch.isdigit() and ch.isascii():
            m = _DIGITS_RE.match(text, pos)
            assert m is not None
            tokens.append(_Token(_DIGITS, m.group(), column))
            pos = m.end()
        elif _PATTERN_RE.match(text, pos):
            pattern = _PATTERN_RE.match(text, pos)
            name = _NAME_RE.match(text, pos)
            assert pattern is not None
            if name is None or pattern.end() > name.end():
                # A lone "*" is the STAR token (it wins the tie in the ANTLR lexer).
                kind = "*" if pattern.group() == "*" else _PATTERN
                tokens.append(_Token(kind, pattern.group(), column))
                pos = pattern.end()
            else:
                word = name.group()
                kind = _OPERATORS.get(word, word if word in _KEYWORDS else _NAME)
                tokens.append(_Token(kind, word, column))
                pos = name.end()
        elif ch in _PUNCTUATION:
            tokens.append(_Token(_PUNCTUATION[ch], ch, column))
            pos += 1
        else:
            raise SelectionSyntaxError(
                f'unexpected character {ch!r} (quote values that contain it: "...")',
                text=text,
                column=column,
                token=ch,
            )
    tokens.append(_Token(_EOF, "", n + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    # ------------------------------------------------------------- helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        tok = self.tokens[self.pos]
        if tok.kind != _EOF:
            self.pos += 1
        return tok

    def error(self, reason: str, tok: _Token | None = None) -> SelectionSyntaxError:
        tok = tok or self.tok
        return SelectionSyntaxError(reason, text=self.text, column=tok.column, token=tok.text)

    def expect(self, kind: str, reason: str) -> _Token:
        if self.tok.kind != kind:
            raise self.error(reason)
        return self.advance()

    # --------------------------------------------------------------- rules
    def parse(self) -> AssetSelection:
        if self.tok.kind == _EOF:
            raise self.error("the selection is empty (use * for every asset)")
        sel = self.or_expr()
        if self.tok.kind != _EOF:
            tok = self.tok
            if tok.kind == ")":
                raise self.error("unexpected ')' without a matching '('")
            if tok.kind == "+":
                raise self.error(
                    "unexpected '+': a traversal is one '+' with an optional depth "
                    "(+x, 2+x, x+, x+2), applied to a key, a function or parentheses"
                )
            raise self.error(
                f"unexpected {tok.describe()}: combine selections with 'and', 'or' or 'not'"
            )
        return sel

    def or_expr(self) -> AssetSelection:
        operands = [self.and_expr()]
        while self.tok.kind == "or":
            self.advance()
            operands.append(self.and_expr())
        if len(operands) == 1:
            return operands[0]
        out = operands[0]
        for op in operands[1:]:
            out = out | op
        return out

    def and_expr(self) -> AssetSelection:
        out = self.not_expr()
        while self.tok.kind == "and":
            self.advance()
            out = out & self.not_expr()
        return out

    def not_expr(self) -> AssetSelection:
        if self.tok.kind == "not":
            self.advance()
            return SubtractSelection(AllSelection(), self.not_expr())
        if self.tok.kind == "*":
            self.advance()
            if self.tok.kind == "+":
                raise self.error("'*' cannot be traversed: it already selects every asset")
            if self.tok.kind == _DIGITS:
                raise self.error(f"unexpected number {self.tok.text!r} after '*'")
            return AllSelection()
        return self.traversal()

    def traversal(self) -> AssetSelection:
        up: int | None = None
        has_up = False
        if self.tok.kind == _DIGITS:
            digits = self.advance()
            if self.tok.kind != "+":
                raise self.error(f"expected '+' after the depth {digits.text!r}")
            up = int(digits.text)
        if self.tok.kind == "+":
            self.advance()
            has_up = True
            if self.tok.kind in ("+", _DIGITS):
                raise self.error(
                    "expected a key, a function or '(' after '+' "
                    "(write 2+x for two levels; ++x is not Dagster syntax)"
                )
            if self.tok.kind == "*":
                raise self.error("'*' cannot be traversed: it already selects every asset")
        sel = self.primary()
        down: int | None = None
        has_down = False
        if self.tok.kind == "+":
            self.advance()
            has_down = True
            if self.tok.kind == _DIGITS:
                down = int(self.advance().text)
        if has_up and has_down:
            return UpstreamSelection(sel, up) | DownstreamSelection(sel, down)
        if has_up:
            return UpstreamSelection(sel, up)
        if has_down:
            return DownstreamSelection(sel, down)
        return sel

    def primary(self) -> AssetSelection:
        tok = self.tok
        if tok.kind == "(":
            self.advance()
            inner = self.or_expr()
            self.close_paren(tok)
            return inner
        if tok.kind in _FUNCTIONS:
            self.advance()
            opening = self.expect("(", f"expected '(' after {tok.text!r}")
            inner = self.or_expr()
            self.close_paren(opening)
            return inner.sinks() if tok.kind == "sinks" else inner.roots()
        if tok.kind in _ATTRIBUTES_SUPPORTED or tok.kind in _ATTRIBUTES_UNSUPPORTED:
            return self.attribute()
        if tok.kind == _EOF:
            prev = self.tokens[self.pos - 1] if self.pos else None
            after = f" after {prev.text!r}" if prev else ""
            raise self.error(f"expected a selection{after}")
        if tok.kind in (_NAME, _PATTERN, _QUOTED):
            raise self.error(
                f"expected an attribute such as key:, group: or tag: before {tok.text!r} "
                f"(write key:{tok.text})"
            )
        raise self.error(f"expected a selection, found {tok.describe()}")

    def close_paren(self, opening: _Token) -> None:
        if self.tok.kind != ")":
            found = self.tok.describe()
            raise self.error(
                f"expected ')' to close the '(' at column {opening.column}, found {found}"
            )
        self.advance()

    def attribute(self) -> AssetSelection:
        name = self.advance()
        self.expect(":", f"expected ':' after {name.text!r}")
        if name.kind == "key":
            tok = self.tok
            if tok.kind in (_NAME, _PATTERN, _QUOTED):
                self.advance()
                return KeyPatternSelection(_unquote(tok))
            hint = ""
            if tok.kind == "*":
                hint = ' (key:"*" or * selects every asset)'
            elif tok.kind in _KEYWORDS:
                hint = f' (quote a keyword used as a value: key:"{tok.text}")'
            raise self.error(f"expected a value after 'key:'{hint}")
        if name.kind == "not_materialized_in_hours":
            self.expect(_DIGITS, "expected a number of hours after 'not_materialized_in_hours:'")
            raise self.unsupported(name)
        value = self.value(f"{name.text}:")
        if name.kind == "tag":
            tag_value: str | None = ""
            if self.tok.kind == "=":
                self.advance()
                tag_value = self.value("=")
            return TagSelection(value, tag_value or "")
        if name.kind == "owner":
            return OwnerSelection(value)
        if name.kind == "kind":
            return KindSelection(value)
        if name.kind == "group":
            if not value:
                return GroupsSelection(())
            if "*" in value:
                return GroupPatternSelection(value)
            return GroupsSelection((value,))
        if name.kind == "is":
            if value == "materializable":
                return AllSelection()  # every assetcron asset is materializable
            if value == "external":
                return GroupsSelection(())  # and none is external
            raise self.error(
                f"invalid 'is:' value {value!r}: expected 'materializable' or 'external'", name
            )
        raise self.unsupported(name)

    def unsupported(self, name: _Token) -> SelectionSyntaxError:
        return self.error(
            f"the Dagster attribute '{name.text}:' needs state assetcron does not keep; "
            "select with key:, group:, tag:, owner: or kind:",
            name,
        )

    def value(self, after: str) -> str | None:
        tok = self.tok
        if tok.kind in (_NAME, _QUOTED) or tok.kind in _KEYWORD_VALUES:
            self.advance()
            return _unquote(tok)
        if tok.kind == _NULL:
            self.advance()
            return None
        hint = ""
        if tok.kind in _KEYWORDS:
            hint = f' (quote a keyword used as a value: "{tok.text}")'
        elif tok.kind in (_PATTERN, "*"):
            hint = f' (quote a value with *: "{tok.text}")'
        elif tok.kind == _DIGITS:
            hint = f' (quote a value that starts with a digit: "{tok.text}...")'
        raise self.error(f"expected a value after {after!r}{hint}")


def _unquote(tok: _Token) -> str:
    return tok.text[1:-1] if tok.kind == _QUOTED else tok.text


def _legacy(text: str) -> AssetSelection | None:
    """Dagster's fallback for strings its ANTLR grammar rejects (``from_string``)."""
    clause = _LEGACY_CLAUSE.search(text.strip())
    if clause is not None:
        up_part, item, down_part = (g or "" for g in clause.groups())
        try:
            key = AssetKey.from_user_string(item)
        except InvalidDefinitionError:
            return None
        sel: AssetSelection = KeysSelection((key,))
        up, down = _legacy_depth(up_part), _legacy_depth(down_part)
        if up != 0 and down != 0:
            return UpstreamSelection(sel, up) | DownstreamSelection(sel, down)
        if up != 0:
            return UpstreamSelection(sel, up)
        if down != 0:
            return DownstreamSelection(sel, down)
        return sel
    if text.startswith("tag:") and len(text) > len("tag:") and text.count("=") <= 1:
        tag_key, _, tag_value = text[len("tag:") :].partition("=")
        return TagSelection(tag_key, tag_value)
    return None


def _legacy_depth(part: str) -> int | None:
    """``""`` -> 0, a part with ``*`` -> unbounded (None), ``+`` per level."""
    if "*" in part:
        return None
    return len(part)


def parse(text: str) -> AssetSelection:
    """Parse ``text`` (see the module docstring for the grammar).

    Raises :class:`SelectionSyntaxError` naming the 1-based column and the offending
    token, e.g. ``selection syntax error at column 5: expected a value after 'key:'``.
    """
    try:
        return _Parser(text).parse()
    except SelectionSyntaxError:
        legacy = _legacy(text)
        if legacy is None:
            raise
        return legacy
