# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled rule evaluation: ``Engine.evaluate`` in C (the hot path of the classifier).

``engine.Engine.evaluate_python`` with ``matcher.Matcher.scan`` is the reference
implementation and the specification; this module computes exactly the same ``Outcome`` (the
same hits in the same order, the same fired, vetoed and nearly-fired rules) from tables the
engine hands over, and ``tests/test_kernel.py`` compares the two on every labelled headline,
every rules case, generated text and random rule files. Change the semantics there first, then
here.

What is faster here: an item's hits live in a C array; which vocabularies own a pattern is a
bitmask per pattern, so "the hits of vocabulary v" is a loop over a dozen structs instead of
building lists; ASCII word edges, masks and topic containment are C loops. Folding is one pass
over a table of code points (``normalize.fold_codes``), with ``normalize.fold`` itself for the
rare text it cannot map character by character. The Aho-Corasick scan stays in
``ahocorasick_rs``.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdint cimport uint64_t
from libc.limits cimport INT_MAX
from libc.string cimport memset

cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) noexcept
    void PyUnicode_WRITE(int kind, void* data, Py_ssize_t index, Py_UCS4 value) noexcept

cdef extern from *:
    """
    #ifndef KERNEL_SOURCE_HASH
    #define KERNEL_SOURCE_HASH ""
    #endif
    """
    const char* KERNEL_SOURCE_HASH

# sha256 of this file when it was compiled (set by setup.py); the loader compares it with the
# file next to the module, so an edited but not rebuilt kernel is never used.
SOURCE_HASH = KERNEL_SOURCE_HASH.decode("ascii")

cdef enum:
    STACK_HITS = 64  # hits of an item kept on the stack (more: on the heap)


cdef struct HitC:
    int field
    int start
    int end
    int pid


cdef struct RuleC:
    int anchor  # the vocabulary of its first requirement
    int req_at  # its requirements: reqs[req_at : req_at + n_req]
    int n_req
    int fields  # bitmask of field indexes
    bint all_fields
    bint simple
    Py_ssize_t near
    int excl_at  # its exclusions: excls[excl_at : excl_at + n_excl]
    int n_excl


cdef struct ExclC:
    int vocab
    int fields  # bitmask
    Py_ssize_t within
    int unless_at  # unless[unless_at : unless_at + n_unless]
    int n_unless


cdef inline bint is_word(Py_UCS4 ch) noexcept:
    return (
        (ch >= 48 and ch <= 57) or (ch >= 65 and ch <= 90) or (ch >= 97 and ch <= 122)
    )


cdef class Kernel:
    """The engine's tables in C arrays; ``evaluate`` returns an ``engine.Outcome``.

    Its pointers start NULL (Cython zero-fills a new object); ``__dealloc__`` frees whatever
    ``__init__`` allocated, even if it stopped half-way."""

    cdef int n_pat, n_vocab, words, n_rules, max_req
    cdef uint64_t* owners  # per pattern, the vocabularies owning it (words x 64 bits)
    cdef uint64_t* topical  # per pattern, the topic vocabularies owning it
    cdef uint64_t* anchors  # the vocabularies that anchor some rule (words x 64 bits)
    cdef unsigned char* edges
    cdef unsigned char* masking
    cdef unsigned char* containable
    cdef unsigned char* is_topical
    cdef unsigned short* codes  # normalize.fold_codes: folded code point per BMP code point
    cdef RuleC* rules
    cdef int* reqs
    cdef ExclC* excls
    cdef int* unless
    cdef object rule_objs  # list: CompiledRule per rule (plan order)
    cdef object relevances  # list: CompiledRule.relevances per rule
    cdef object excl_objs  # list: CompiledExclusion per ExclC
    cdef object py_fold, find, separator, vocab_pids, rank
    cdef object Outcome, HitIndex, Fired, Vetoed, Missed
    cdef object empty
    cdef object fallback  # Engine.evaluate_python, for text too long for C ints
    cdef bint ready  # __init__ completed

    def __init__(self, engine, fold, codes, separator, classes, rank):
        """``engine``: a compiled ``engine.Engine``; ``fold``: ``normalize.fold``; ``codes``:
        ``normalize.fold_codes()``; ``separator``: ``matcher.SEPARATOR``; ``classes``:
        (Outcome, HitIndex, Fired, Vetoed, Missed); ``rank``: the sort key of fired rules."""
        if self.ready or self.codes != NULL:
            raise RuntimeError("kernel: already initialised")
        matcher = engine.matcher
        self.fallback = engine.evaluate_python
        if len(codes) != 0x10000:
            raise ValueError("kernel: a fold table needs 65536 entries")
        self.codes = <unsigned short*> self._alloc(0x10000 * sizeof(unsigned short))
        cdef int c
        for c in range(0x10000):
            self.codes[c] = codes[c]
        self.Outcome, self.HitIndex, self.Fired, self.Vetoed, self.Missed = classes
        self.rank = rank
        self.py_fold = fold
        self.find = matcher.automaton.find_matches_as_indexes
        self.separator = separator
        self.vocab_pids = matcher.vocab_pids
        self.empty = engine.empty
        self.n_pat = len(matcher.patterns)
        self.n_vocab = len(engine.vocabs)
        self.words = (self.n_vocab + 63) // 64
        cdef int w = self.words
        self.owners = <uint64_t*> self._alloc(self.n_pat * w * sizeof(uint64_t))
        self.topical = <uint64_t*> self._alloc(self.n_pat * w * sizeof(uint64_t))
        self.anchors = <uint64_t*> self._alloc(w * sizeof(uint64_t))
        self.edges = <unsigned char*> self._alloc(self.n_pat)
        self.masking = <unsigned char*> self._alloc(self.n_pat)
        self.containable = <unsigned char*> self._alloc(self.n_pat)
        self.is_topical = <unsigned char*> self._alloc(self.n_pat)
        cdef int p, v
        for p in range(self.n_pat):
            for v in matcher.vocab_sets[p]:
                self.owners[p * w + v // 64] |= (<uint64_t> 1) << (v % 64)
            for v in matcher.topical[p]:
                self.topical[p * w + v // 64] |= (<uint64_t> 1) << (v % 64)
            self.edges[p] = matcher.edges[p]
            self.masking[p] = matcher.masking[p]
            self.containable[p] = matcher.containable[p]
            self.is_topical[p] = bool(matcher.topical[p])
        ordered = [cr for _anchor, rules in engine.plan for cr in rules]
        self.n_rules = len(ordered)
        cdef int n_reqs = sum(len(cr.require) for cr in ordered)
        cdef int n_excls = sum(len(cr.exclude) for cr in ordered)
        cdef int n_unless = sum(len(ce.unless) for cr in ordered for ce in cr.exclude)
        self.rules = <RuleC*> self._alloc(max(1, self.n_rules) * sizeof(RuleC))
        self.reqs = <int*> self._alloc(max(1, n_reqs) * sizeof(int))
        self.excls = <ExclC*> self._alloc(max(1, n_excls) * sizeof(ExclC))
        self.unless = <int*> self._alloc(max(1, n_unless) * sizeof(int))
        self.rule_objs = ordered
        self.relevances = [cr.relevances for cr in ordered]
        self.excl_objs = []
        cdef int r = 0, at_req = 0, at_excl = 0, at_unless = 0
        cdef RuleC* rc
        cdef ExclC* ec
        for cr in ordered:
            rc = &self.rules[r]
            rc.anchor = cr.require[0]
            rc.req_at = at_req
            rc.n_req = len(cr.require)
            if rc.n_req > self.max_req:
                self.max_req = rc.n_req
            for v in cr.require:
                self.reqs[at_req] = v
                at_req += 1
            self.anchors[rc.anchor // 64] |= (<uint64_t> 1) << (rc.anchor % 64)
            rc.fields = _bits(cr.fields)
            rc.all_fields = cr.all_fields
            rc.simple = cr.simple
            rc.near = min(cr.rule.near, PY_SSIZE_T_MAX)
            rc.excl_at = at_excl
            rc.n_excl = len(cr.exclude)
            for ce in cr.exclude:
                ec = &self.excls[at_excl]
                ec.vocab = ce.vocab
                ec.fields = _bits(ce.fields)
                ec.within = min(ce.exclusion.within, PY_SSIZE_T_MAX)
                ec.unless_at = at_unless
                ec.n_unless = len(ce.unless)
                for v in ce.unless:
                    self.unless[at_unless] = v
                    at_unless += 1
                self.excl_objs.append(ce)
                at_excl += 1
            r += 1
        self.ready = True

    cdef void* _alloc(self, size_t size) except NULL:
        cdef void* block = PyMem_Malloc(size if size else 1)
        if block == NULL:
            raise MemoryError()
        memset(block, 0, size if size else 1)
        return block

    def __dealloc__(self):
        PyMem_Free(self.owners)
        PyMem_Free(self.topical)
        PyMem_Free(self.anchors)
        PyMem_Free(self.edges)
        PyMem_Free(self.masking)
        PyMem_Free(self.containable)
        PyMem_Free(self.is_topical)
        PyMem_Free(self.codes)
        PyMem_Free(self.rules)
        PyMem_Free(self.reqs)
        PyMem_Free(self.excls)
        PyMem_Free(self.unless)

    cdef inline bint owns(self, int pid, int vocab) noexcept:
        return (self.owners[pid * self.words + (vocab >> 6)] >> (vocab & 63)) & 1

    cdef inline bint anchored(self, int pid) noexcept:
        cdef int i
        for i in range(self.words):
            if self.owners[pid * self.words + i] & self.anchors[i]:
                return True
        return False

    cdef inline bint topic_beyond(self, int outer, int inner) noexcept:
        """Has ``outer`` a topic vocabulary that ``inner`` has not?"""
        cdef int i
        for i in range(self.words):
            if self.topical[outer * self.words + i] & ~self.topical[inner * self.words + i]:
                return True
        return False

    def evaluate(self, texts, bint detail=False):
        """``Engine.evaluate(texts, detail=detail)``, computed in C."""
        if not self.ready:
            raise RuntimeError("kernel: not initialised")
        cdef Py_ssize_t n_texts = len(texts)
        if not any(texts):
            return self.empty
        cdef unicode joined = self.separator.join(texts)
        if len(joined) >= INT_MAX:  # offsets are C ints
            return self.fallback(texts, detail=detail)
        joined = self._fold(joined)
        cdef list found = self.find(joined, overlapping=True)
        cdef Py_ssize_t n = len(found)
        if n == 0:
            return self.empty
        cdef HitC stack[STACK_HITS]
        cdef HitC* hits = stack
        if n > STACK_HITS:
            hits = <HitC*> PyMem_Malloc(n * sizeof(HitC))
            if hits == NULL:
                raise MemoryError()
        try:
            return self._evaluate(texts, n_texts, joined, found, n, hits, detail)
        finally:
            if hits != stack:
                PyMem_Free(hits)

    def fold(self, unicode text):
        """``normalize.fold(text)``, table-driven."""
        if not self.ready:
            raise RuntimeError("kernel: not initialised")
        return self._fold(text)

    cdef unicode _fold(self, unicode text):
        cdef int kind = PyUnicode_KIND(text)
        if kind == 4:  # outside the BMP: lower() and the table need normalize.fold
            return self.py_fold(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef Py_ssize_t i, n = len(text), changed = -1
        cdef Py_UCS4 c, folded, top = 0
        for i in range(n):
            c = PyUnicode_READ(kind, data, i)
            folded = self.codes[c]
            if folded != c:
                if folded == 0xFFFF:  # normalize.NOT_CHARWISE
                    return self.py_fold(text)
                if changed < 0:
                    changed = i
            if folded > top:
                top = folded
        if changed < 0:
            return text
        # A new string of the exact width its widest character needs (CPython compares
        # strings of different widths as different).
        out = PyUnicode_New(n, top)
        cdef int out_kind = PyUnicode_KIND(out)
        cdef void* out_data = PyUnicode_DATA(out)
        for i in range(n):
            PyUnicode_WRITE(out_kind, out_data, i, self.codes[PyUnicode_READ(kind, data, i)])
        return out

    cdef object _evaluate(
        self, texts, Py_ssize_t n_texts, unicode joined, list found, Py_ssize_t n,
        HitC* hits, bint detail,
    ):
        cdef Py_ssize_t i, j, m = 0, length = len(joined)
        cdef int pid, start, end, edge
        cdef bint wanted = False
        cdef Py_UCS4 ch
        cdef tuple f
        # The matches, ASCII word edges checked (a match inside a word is dropped, a plural
        # "s" is taken in), while noting whether any pattern anchors a rule.
        for i in range(n):
            f = <tuple> found[i]
            pid = f[0]
            start = f[1]
            end = f[2]
            if not wanted and self.anchored(pid):
                wanted = True
            edge = self.edges[pid]
            if edge:
                if edge & 1 and start > 0:
                    ch = joined[start - 1]
                    if is_word(ch) or (ch == u"." and is_word(joined[start])
                                       and joined[start] <= u"9"):
                        continue
                if edge & 2 and end < length and is_word(joined[end]):
                    if joined[end] != u"s" or (end + 1 < length and is_word(joined[end + 1])):
                        continue
                    end += 1
            hits[m].pid = pid
            hits[m].start = start
            hits[m].end = end
            m += 1
        if not wanted or m == 0:
            return self.empty
        if m < n:  # edges dropped some: is an anchoring pattern left?
            wanted = False
            for i in range(m):
                if self.anchored(hits[i].pid):
                    wanted = True
                    break
            if not wanted:
                return self.empty
        # Offsets relative to each field.
        cdef int first = len(texts[0])
        cdef int second = first + 1 + len(texts[1]) if n_texts > 2 else length
        for i in range(m):
            if hits[i].start < first:
                hits[i].field = 0
            elif hits[i].start < second:
                hits[i].field = 1
                hits[i].start -= first + 1
                hits[i].end -= first + 1
            else:
                hits[i].field = 2
                hits[i].start -= second + 1
                hits[i].end -= second + 1
        m = self._clean(hits, m)
        # The hits as Python tuples (explanations and severity read them), and their patterns.
        cdef list raw = []
        cdef set pids = set()
        cdef uint64_t present_stack[4]
        cdef uint64_t* present = present_stack
        cdef int w = self.words
        if w > 4:
            present = <uint64_t*> PyMem_Malloc(w * sizeof(uint64_t))
            if present == NULL:
                raise MemoryError()
        try:
            memset(present, 0, w * sizeof(uint64_t))
            for i in range(m):
                raw.append((hits[i].field, hits[i].start, hits[i].end, hits[i].pid))
                pids.add(hits[i].pid)
                for j in range(w):
                    present[j] |= self.owners[hits[i].pid * w + j]
            outcome = self.Outcome(self.HitIndex(raw, pids, self.vocab_pids), [], [], [])
            self._rules(outcome, raw, hits, m, present, detail)
        finally:
            if present != present_stack:
                PyMem_Free(present)
        return outcome

    cdef Py_ssize_t _clean(self, HitC* hits, Py_ssize_t m) except -1:
        """Masks hide what they overlap (and themselves); a topic hit inside a longer hit of
        another topic is dropped. Returns the new count (hits kept in order).

        Each step marks what it drops while the array is unchanged and compacts afterwards:
        compacting in place while still reading the masks would overwrite them."""
        cdef unsigned char dropped_stack[STACK_HITS]
        cdef unsigned char* dropped = dropped_stack
        if m > STACK_HITS:
            dropped = <unsigned char*> PyMem_Malloc(m)
            if dropped == NULL:
                raise MemoryError()
        try:
            m = self._compact(hits, m, dropped, self._mark_masked(hits, m, dropped))
            return self._compact(hits, m, dropped, self._mark_contained(hits, m, dropped))
        finally:
            if dropped != dropped_stack:
                PyMem_Free(dropped)

    cdef bint _mark_masked(self, HitC* hits, Py_ssize_t m, unsigned char* dropped) noexcept:
        """Mark the mask hits and every hit one of them overlaps in its field; False if none."""
        cdef Py_ssize_t i, k
        cdef bint any_mask = False
        memset(dropped, 0, m)
        for k in range(m):
            if not self.masking[hits[k].pid]:
                continue
            any_mask = True
            dropped[k] = 1
            for i in range(m):
                if (hits[k].field == hits[i].field
                        and hits[k].start < hits[i].end and hits[i].start < hits[k].end):
                    dropped[i] = 1
        return any_mask

    cdef bint _mark_contained(self, HitC* hits, Py_ssize_t m, unsigned char* dropped) noexcept:
        """Mark the topic hits inside a longer hit of another topic; False if none."""
        cdef Py_ssize_t i, k, tops = 0
        cdef bint inner = False, any_drop = False
        memset(dropped, 0, m)
        for i in range(m):
            if self.is_topical[hits[i].pid]:
                tops += 1
                if self.containable[hits[i].pid]:
                    inner = True
        if not inner or tops < 2:
            return False
        for i in range(m):
            if not self.containable[hits[i].pid]:
                continue
            for k in range(m):
                if (self.is_topical[hits[k].pid] and hits[k].field == hits[i].field
                        and hits[k].start <= hits[i].start and hits[i].end <= hits[k].end
                        and hits[k].end - hits[k].start > hits[i].end - hits[i].start
                        and self.topic_beyond(hits[k].pid, hits[i].pid)):
                    dropped[i] = 1
                    any_drop = True
                    break
        return any_drop

    cdef inline Py_ssize_t _compact(
        self, HitC* hits, Py_ssize_t m, unsigned char* dropped, bint marked
    ) noexcept:
        """Keep the unmarked hits, in order; returns their count."""
        if not marked:
            return m
        cdef Py_ssize_t i, kept = 0
        for i in range(m):
            if not dropped[i]:
                hits[kept] = hits[i]
                kept += 1
        return kept

    cdef inline Py_ssize_t first_of(
        self, HitC* hits, Py_ssize_t m, int vocab, int fields, Py_ssize_t after
    ) noexcept:
        """The first hit from ``after`` on of ``vocab`` in ``fields`` (bitmask); -1 if none."""
        cdef Py_ssize_t i
        for i in range(after, m):
            if (fields >> hits[i].field) & 1 and self.owns(hits[i].pid, vocab):
                return i
        return -1

    cdef int _rules(
        self, outcome, list raw, HitC* hits, Py_ssize_t m, uint64_t* present, bint detail
    ) except -1:
        cdef Py_ssize_t chosen_stack[8]
        cdef Py_ssize_t* chosen = chosen_stack  # the chosen hit per requirement
        if self.max_req > 8:
            chosen = <Py_ssize_t*> PyMem_Malloc(self.max_req * sizeof(Py_ssize_t))
            if chosen == NULL:
                raise MemoryError()
        try:
            self._fire(outcome, raw, hits, m, present, detail, chosen)
        finally:
            if chosen != chosen_stack:
                PyMem_Free(chosen)
        if len(outcome.fired) > 1:
            outcome.fired.sort(key=self.rank)
        return 0

    cdef int _fire(
        self, outcome, list raw, HitC* hits, Py_ssize_t m, uint64_t* present, bint detail,
        Py_ssize_t* chosen,
    ) except -1:
        cdef list fired = outcome.fired
        cdef int r, k, missing, field, fields
        cdef Py_ssize_t a, h
        cdef RuleC* rc
        cdef bint ok
        for r in range(self.n_rules):
            rc = &self.rules[r]
            if not (present[rc.anchor >> 6] >> (rc.anchor & 63)) & 1:
                continue
            fields = 7 if rc.all_fields else rc.fields
            if rc.simple:  # the anchor's first hit (title first, then earliest)
                chosen[0] = self.first_of(hits, m, rc.anchor, 7, 0)
            else:
                # Engine._select: the first hit of each requirement in the rule's fields, or
                # with ``near`` the first anchor hit that has all the others close by.
                ok = True
                missing = 0
                for k in range(rc.n_req):
                    chosen[k] = self.first_of(hits, m, self.reqs[rc.req_at + k], fields, 0)
                    if chosen[k] < 0:
                        ok = False
                        missing = k
                        break
                if ok and rc.near:
                    ok = False
                    missing = -1
                    a = chosen[0]
                    while a >= 0:
                        chosen[0] = a
                        ok = True
                        for k in range(1, rc.n_req):
                            chosen[k] = self._near(
                                hits, m, a, self.reqs[rc.req_at + k], fields, rc.near
                            )
                            if chosen[k] < 0:
                                ok = False
                                break
                        if ok:
                            break
                        a = self.first_of(hits, m, rc.anchor, fields, a + 1)
                if not ok:
                    if detail:
                        a = self.first_of(hits, m, rc.anchor, 7, 0)
                        outcome.missed.append(self.Missed(self.rule_objs[r], raw[a], missing))
                    continue
            if rc.n_excl and self._veto(outcome, raw, hits, m, present, r, chosen):
                continue
            field = 0
            pairs = []
            for k in range(rc.n_req if not rc.simple else 1):
                h = chosen[k]
                if hits[h].field > field:
                    field = hits[h].field
                pairs.append((self.reqs[rc.req_at + k], raw[h]))
            fired.append(
                self.Fired(self.rule_objs[r], tuple(pairs), field, self.relevances[r][field])
            )
        return 0

    cdef inline Py_ssize_t _near(
        self, HitC* hits, Py_ssize_t m, Py_ssize_t a, int vocab, int fields, Py_ssize_t near
    ) noexcept:
        """The first hit of ``vocab`` in the anchor's field within ``near`` characters of it."""
        cdef Py_ssize_t i
        cdef Py_ssize_t hi, lo
        for i in range(m):
            if hits[i].field != hits[a].field or not (fields >> hits[i].field) & 1:
                continue
            if not self.owns(hits[i].pid, vocab):
                continue
            hi = hits[i].start if hits[i].start > hits[a].start else hits[a].start
            lo = hits[i].end if hits[i].end < hits[a].end else hits[a].end
            if hi - lo <= near:
                return i
        return -1

    cdef bint _veto(
        self, outcome, list raw, HitC* hits, Py_ssize_t m, uint64_t* present, int r,
        Py_ssize_t* chosen,
    ) except -1:
        """Append a Vetoed and return True if an exclusion of rule ``r`` vetoes it."""
        cdef RuleC* rc = &self.rules[r]
        cdef ExclC* ec
        cdef int x, k, u, n_chosen = 1 if rc.simple else rc.n_req
        cdef Py_ssize_t e, h, i
        cdef bint close, spared
        cdef Py_ssize_t hi, lo
        for x in range(rc.excl_at, rc.excl_at + rc.n_excl):
            ec = &self.excls[x]
            if not (present[ec.vocab >> 6] >> (ec.vocab & 63)) & 1:
                continue
            e = self.first_of(hits, m, ec.vocab, ec.fields, 0)
            while e >= 0:
                close = True
                if ec.within:
                    close = False
                    for k in range(n_chosen):
                        h = chosen[k]
                        if hits[h].field != hits[e].field:
                            continue
                        hi = hits[h].start if hits[h].start > hits[e].start else hits[e].start
                        lo = hits[h].end if hits[h].end < hits[e].end else hits[e].end
                        if hi - lo <= ec.within:
                            close = True
                            break
                if close:
                    spared = False
                    for u in range(ec.unless_at, ec.unless_at + ec.n_unless):
                        if self.first_of(hits, m, self.unless[u], ec.fields, 0) >= 0:
                            spared = True
                            break
                    if spared:
                        break  # this exclusion is cancelled; try the next one
                    outcome.vetoed.append(
                        self.Vetoed(self.rule_objs[r], self.excl_objs[x], raw[e])
                    )
                    return True
                e = self.first_of(hits, m, ec.vocab, ec.fields, e + 1)
        return False


cdef int _bits(fields) except -1:
    cdef int out = 0
    for f in fields:
        out |= 1 << f
    return out
