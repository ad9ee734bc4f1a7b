# SPDX-License-Identifier: GPL-3.0-or-later
"""The Engine's search language: ``field OP value`` joined by ``and``/``or``, ``sortby``, ``page``.

Values follow the Engine's rules: ``=`` on strings is LIKE (``*`` wildcard, case-sensitive unless
``case_sensitive=false``), double quotes group a value and are stripped, enum values are the
backend names without underscores (``poweringup``, ``nonresponsive``).
"""

import re


class SearchError(ValueError):
    pass


_TOKEN = re.compile(r'\s*(?:(?P<q>"(?:[^"\\]|\\.)*")|(?P<op>!=|<=|>=|=|<|>)|(?P<p>[()])|(?P<w>[^\s=!<>()"]+))')
_OPS = ("=", "!=", "<", ">", "<=", ">=")


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SearchError("Cannot parse search query near '%s'" % text[pos:pos + 20])
        pos = m.end()
        if m.group("q") is not None:
            out.append(("v", m.group("q")[1:-1].replace('\\"', '"')))
        elif m.group("op"):
            out.append(("op", m.group("op")))
        elif m.group("p"):
            out.append(("p", m.group("p")))
        else:
            out.append(("w", m.group("w")))
    return out


class Query:
    """A parsed query: ``matches(resolve)`` plus ``sortby``/``desc``/``page``."""

    def __init__(self, tree, sortby=None, desc=False, page=None):
        self.tree, self.sortby, self.desc, self.page = tree, sortby, desc, page

    def matches(self, resolve, case_sensitive=True):
        return _eval(self.tree, resolve, case_sensitive) if self.tree is not None else True


def parse(text):
    if text is None or not text.strip():
        return Query(None)
    toks = _tokens(text)
    # Strip an optional "Vms:" style prefix the Engine accepts.
    if toks and toks[0][0] == "w" and toks[0][1].endswith(":") and len(toks[0][1]) > 1:
        toks = toks[1:]
    sortby = desc = page = None
    # Trailing "sortby f [asc|desc]" and "page N" clauses (either order).
    i = 0
    body = []
    while i < len(toks):
        kind, val = toks[i]
        low = val.lower() if kind == "w" else None
        if low == "sortby":
            if i + 1 >= len(toks):
                raise SearchError("sortby needs a field name")
            sortby = toks[i + 1][1].lower()
            i += 2
            if i < len(toks) and toks[i][0] == "w" and toks[i][1].lower() in ("asc", "desc"):
                desc = toks[i][1].lower() == "desc"
                i += 1
            continue
        if low == "page":
            if i + 1 >= len(toks) or not toks[i + 1][1].isdigit():
                raise SearchError("page needs a number")
            page = int(toks[i + 1][1])
            i += 2
            continue
        body.append(toks[i])
        i += 1
    parser = _Parser(body)
    tree = parser.expr() if body else None
    if parser.pos != len(body):
        raise SearchError("Unexpected '%s' in search query" % body[parser.pos][1])
    return Query(tree, sortby, bool(desc), page)


class _Parser:
    def __init__(self, toks):
        self.toks, self.pos = toks, 0

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else (None, None)

    def expr(self):
        left = self.term()
        while self.peek()[0] == "w" and self.peek()[1].lower() == "or":
            self.pos += 1
            left = ("or", left, self.term())
        return left

    def term(self):
        left = self.factor()
        while True:
            kind, val = self.peek()
            if kind == "w" and val.lower() == "and":
                self.pos += 1
                left = ("and", left, self.factor())
            elif kind == "w" and val.lower() not in ("or",) or kind == "p" and val == "(":
                left = ("and", left, self.factor())  # juxtaposition means AND
            else:
                return left

    def factor(self):
        kind, val = self.peek()
        if kind == "p" and val == "(":
            self.pos += 1
            e = self.expr()
            if self.peek() != ("p", ")"):
                raise SearchError("Missing ')' in search query")
            self.pos += 1
            return e
        if kind != "w":
            raise SearchError("Expected a field name, got '%s'" % (val,))
        self.pos += 1
        field = val.lower()
        okind, op = self.peek()
        if okind != "op":
            raise SearchError("Expected an operator after '%s'" % val)
        self.pos += 1
        vkind, value = self.peek()
        if vkind not in ("w", "v"):
            raise SearchError("Expected a value after '%s%s'" % (val, op))
        self.pos += 1
        return ("cmp", field, op, value, vkind == "v")


def _like(pattern, case_sensitive):
    rx = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.compile(rx, 0 if case_sensitive else re.IGNORECASE)


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _cmp(values, op, value, case_sensitive):
    if op in ("=", "!="):
        rx = _like(value, case_sensitive)
        hit = any(v is not None and rx.match(str(v)) for v in values)
        return hit if op == "=" else not hit
    want = _num(value)
    for v in values:
        have = _num(v)
        if have is None or want is None:
            a, b = str(v), value
        else:
            a, b = have, want
        if (op == "<" and a < b) or (op == ">" and a > b) or (op == "<=" and a <= b) or (op == ">=" and a >= b):
            return True
    return False


def _eval(node, resolve, case_sensitive):
    if node[0] == "and":
        return _eval(node[1], resolve, case_sensitive) and _eval(node[2], resolve, case_sensitive)
    if node[0] == "or":
        return _eval(node[1], resolve, case_sensitive) or _eval(node[2], resolve, case_sensitive)
    field, op, value = node[1], node[2], node[3]
    values, kind = resolve(field)
    if kind == "enum":
        # Backend enum names: lower case, no underscores; never case sensitive.
        value = value.lower().replace("_", "")
        values = [str(v).lower().replace("_", "") for v in values]
        return _cmp(values, op, value, True)
    if kind == "bool":
        value = value.lower()
        values = [str(v).lower() for v in values]
        return _cmp(values, op, value, True)
    return _cmp(values, op, value, case_sensitive)


def exact_name(query):
    """Fast path: if the query is exactly ``name=X`` with no wildcard, return X (for an index)."""
    if query.tree is None or query.tree[0] != "cmp":
        return None
    field, op, value = query.tree[1], query.tree[2], query.tree[3]
    if field == "name" and op == "=" and "*" not in value:
        return value
    return None
