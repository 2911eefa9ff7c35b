"""Penalties told in prose (news stories of a fine, a decision's text).

Each fine amount (``money.fines``) is bound to the party of its clause or sentence, or dropped:

* ``对<party>罚款30万元`` / ``对<party>处以…`` -- the party after 对;
* otherwise the last name before the amount in the sentence: an organisation (a run of
  characters ending in 公司, 银行, 分行, 支行, 消金, 信用社 …, not starting like an authority)
  or a named person (``王某静``, ``蒋某``); a run that goes on past such an ending
  (``蒙商消金风险管理部总监``) names a role, not a party; ``7家消费金融公司`` is no party;
  aliases (``（下称“阳光消金”）``) are skipped;
* English: ``<Name> Co., Ltd. fined 484,000 yuan``.

So totals (``合计被罚627.7万元``) and fines on unnamed people count for nothing, and a roundup of
an industry's fines yields no penalty. The authority is the agent of ``被<authority>处以``, the
subject of ``<authority>依据…对``, or the one that ``发布/公布/公示/披露`` the decision; the
decision date only comes from ``作出（行政）处罚（决定）的日期（是/为）…`` (a publication or
disclosure date is not it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipeline.extract.dates import DATE_RE, parse_date
from pipeline.extract.money import Amount, fines
from pipeline.extract.text import Text, blank, normalized

_ORG_END = (
    "股份有限公司|有限责任公司|有限公司|分公司|公司|银行|分行|支行|营业部|消金|信用社|合作社|"
    "信用联社|保险|证券|集团"
)
_CJK = r"\u4e00-\u9fff"
_AUTH_START = re.compile(
    r"^(?:中国人民银行|人民银行|央行|国家金融监督管理总局|国家金融监管总局|金融监管总局|中国银保监会|"
    r"中国银监会|银保监|银监|保监|证监|中国证监会|国家外汇管理局|外汇局|["
    + _CJK
    + r"]{2,8}(?:银保监局|"
    r"银监局|监管局|监管分局))"
)
_AUTH_END = re.compile(
    r"(?:局|分局|分行|支行|总局|委员会|监管会|银保监会|筹备组|中心支行|人民银行)$"
)
_ALIAS = re.compile(r"[(（]\s*(?:以下)?(?:简称|下称|以下称)[^()（）]{0,20}[)）]")
# Characters that end a name run: punctuation, digits, and the function words that start a
# clause (因, 被, 对, 向, 将, 把, 经查, 据, 的).
_RUN = re.compile(r"[" + _CJK + r"（）()]+")
_CLAUSE_WORDS = re.compile(r"因|被|对|向|将|把|经查|据|的|显示|表示|称")
_TRAILING_VERB = re.compile(r"(?:处以|予以|罚款|警告|处罚|罚没|没收|处)+$")
_PERSON = re.compile(r"[" + _CJK + r"]某[" + _CJK + r"]?$")
_TO = re.compile(
    r"对\s*(?P<p>[" + _CJK + r"（）()]{2,40}?(?:" + _ORG_END + r"|某[" + _CJK + r"]?))\s*"
    r"(?:处以|予以|作出)?\s*[,，]?\s*(?:警告|罚款|没收|处)"
)
# at most eight words before "Co., Ltd." (a bounded name keeps the search linear)
_EN_PARTY = re.compile(
    r"(?P<p>(?<![A-Za-z&.\-])(?:[A-Z][A-Za-z&.\-]*\s+){1,8}Co\.,?\s+Ltd\.)\s+(?:was\s+)?fined"
)
_EN_FOR = re.compile(r"fined\s+[^,;]*?\byuan\s+for\s+(?P<v>[^,;\[]+)")
_BY = re.compile(r"被\s*(?P<a>[" + _CJK + r"]{4,30}?)\s*(?:处以|罚款|处罚|处|给予)")
_BASIS = re.compile(r"(?P<a>[" + _CJK + r"]{4,30}?)\s*(?:依据|根据)")
_PUBLISH = re.compile(
    r"(?P<a>[" + _CJK + r"]{4,30}?)\s*(?:网站|官网)?\s*(?:日前|近日|近期|今日|昨日)?\s*"
    r"(?:发布|公布|公示|披露)了?(?:的)?[^。，,；]{0,8}?"
    r"(?:行政处罚|罚单|处罚信息|处罚决定)"
)
_DECIDED_ON = re.compile(
    r"作出(?:行政)?处罚(?:决定)?的(?:日期|时间)\s*(?:是|为)?\s*[:：]?\s*(?P<d>" + DATE_RE + r")"
)
_SENTENCE_END = re.compile(r"[。！？!?;；\n]")
_BECAUSE = re.compile(
    r"因(?P<v>[^。；;]{2,200}?)(?:等(?:违法)?违规行为|等违法行为|等问题)?\s*[,，]?\s*被"
)
_EXISTS = re.compile(
    r"存在\s*[“\"]?(?P<v>[^。”\"]{2,200}?)[”\"]?\s*(?:等)?\s*(?:多项)?\s*(?:的)?\s*违法违规(?:行为|事实)"
)


@dataclass(frozen=True, slots=True)
class Bound:
    party: str
    amount: Amount | None  # None: a named party warned, not fined
    line: int


_GENERIC = {"公司", "该公司", "本公司", "银行", "该行", "本行", "分行", "支行", "机构", "该机构"}
_ALIAS_DEF = re.compile(
    r"(?P<full>[" + _CJK + r"]{4,40}?(?:" + _ORG_END + r"))\s*[(（]\s*(?:以下|下文)?"
    r"(?:简称|下称|以下称)\s*[“\"]?(?P<alias>[^”\"()（）]{2,20})[”\"]?\s*[)）]"
)
_WARNED = (
    re.compile(
        r"(?:人员|负责人|员工|高管)\s*(?P<names>[" + _CJK + r"]{2,4}(?:、[" + _CJK + r"]{2,4})*)"
        r"\s*(?:给予|被)?警告"
    ),
    re.compile(r"(?P<names>[" + _CJK + r"]某[" + _CJK + r"]?)[^。；;\n]{0,40}?被(?:给予)?警告"),
)


def _sentence_start(norm: str, at: int) -> int:
    start = 0
    for m in _SENTENCE_END.finditer(norm, 0, at):
        start = m.end()
    return start


def _is_authority(name: str) -> bool:
    return _AUTH_START.match(name) is not None


def _aliases(text: Text) -> dict[str, str]:
    """Short names defined in the text (``（下称“阳光消金”）``) -> the full name, as written."""
    out: dict[str, str] = {}
    for m in _ALIAS_DEF.finditer(text.norm):
        full = text.cut(m.start("full"), m.end("full"))
        cut = _CLAUSE_WORDS.split(text.norm[m.start("full") : m.end("full")])[-1]
        out[m.group("alias").strip()] = full[len(full) - len(cut) :]
    return out


def _party_before(
    text: Text, norm: str, start: int, end: int, aliases: dict[str, str]
) -> str | None:
    """The last party name in ``norm[start:end]``, as written."""
    best: str | None = None
    for run in _RUN.finditer(norm, start, end):
        pieces: list[tuple[int, int]] = []
        at = run.start()
        for word in _CLAUSE_WORDS.finditer(norm, run.start(), run.end()):
            pieces.append((at, word.start()))
            at = word.end()
        pieces.append((at, run.end()))
        for a, b in pieces:
            name_norm = _TRAILING_VERB.sub("", norm[a:b])
            b = a + len(name_norm)
            if len(name_norm) < 2 or name_norm in _GENERIC:
                continue
            person = _PERSON.search(name_norm)
            if person is not None:
                best = text.cut(a + person.start(), b)
            elif re.search(rf"(?:{_ORG_END})$", name_norm) and not _is_authority(name_norm):
                if (a > 0 and norm[a - 1] == "家") or name_norm.startswith("家"):
                    continue
                best = text.cut(a, b)
            else:
                alias = next((x for x in aliases if name_norm.startswith(normalized(x))), None)
                if alias is not None:
                    best = aliases[alias]
    return best


def bind_fines(text: Text) -> list[Bound]:
    """Every fine bound to its party, and every named party warned; with its line number."""
    norm = text.norm
    aliases = _aliases(text)
    for m in _ALIAS.finditer(norm):
        norm = blank(norm, m.start(), m.end())
    bound: list[Bound] = []
    seen: set[tuple[str, Decimal, str]] = set()
    for amount in fines(norm):
        start = _sentence_start(norm, amount.start)
        party: str | None = None
        for m in _TO.finditer(norm, start, amount.start):
            if norm[m.start("p") : m.end("p")] not in _GENERIC:
                party = text.cut(m.start("p"), m.end("p"))
        if party is None:
            for m in _EN_PARTY.finditer(text.raw, start, amount.start):
                party = m.group("p")
        if party is None:
            party = _party_before(text, norm, start, amount.start, aliases)
        if party is not None:
            sentence = norm[start : amount.end]
            if (party, amount.yuan, sentence) not in seen:  # a title repeated in the body
                seen.add((party, amount.yuan, sentence))
                bound.append(Bound(party, amount, norm.count("\n", 0, amount.start)))
    for pattern in _WARNED:
        for m in pattern.finditer(norm):
            line = norm.count("\n", 0, m.start())
            at = m.start("names")
            for name in norm[m.start("names") : m.end("names")].split("、"):
                bound.append(Bound(text.cut(at, at + len(name)), None, line))
                at += len(name) + 1
    return bound


def find_authority(text: Text, start: int = 0, end: int | None = None) -> str | None:
    """The deciding authority named in ``text[start:end]``: the agent of 被…处以, the subject
    of …依据…对, or who published the decision; a fuller name of the same authority wins."""
    norm = text.norm[: len(text.norm) if end is None else end]
    found: list[str] = []
    for pattern in (_BY, _BASIS, _PUBLISH):
        for m in pattern.finditer(norm, start):
            a, b = m.start("a"), m.end("a")
            # the authority is the tail of the run that ends in an authority's name
            name = norm[a:b]
            head = _AUTH_START.search(name) or re.search(
                r"(?:中国|国家)[" + _CJK + r"]*$|[" + _CJK + r"]{2,6}(?:银保监局|银监局|监管局)",
                name,
            )
            if head is None or not _AUTH_END.search(name):
                continue
            found.append(text.cut(a + head.start(), b))
    if not found:
        return None
    first = found[0]
    fuller = [x for x in found if len(x) > len(first) and normalized(x).endswith(normalized(first))]
    return fuller[0] if fuller else first


def find_decision_date(text: Text, start: int = 0, end: int | None = None) -> date | None:
    m = _DECIDED_ON.search(text.norm, start, len(text.norm) if end is None else end)
    return None if m is None else parse_date(m.group("d"))


def _split(phrase: str) -> list[str]:
    parts = [p.strip(" 　,，。") for p in re.split(r"[;；]", phrase)]
    out: list[str] = []
    for part in parts:
        part = re.sub(r"等$", "", part).strip()
        pieces = [p.strip() for p in part.split("、")]
        if len(pieces) > 1 and all(len(p) >= 4 for p in pieces):
            out.extend(pieces)
        elif part:
            out.append(part)
    return out


def find_violations(text: Text, start: int = 0, end: int | None = None) -> list[str]:
    found: list[str] = []
    stop = len(text.norm) if end is None else end
    for pattern in (_EXISTS, _BECAUSE):
        for m in pattern.finditer(text.norm, start, stop):
            found.extend(_split(text.cut(m.start("v"), m.end("v"))))
    for m in _EN_FOR.finditer(text.raw, start, stop):
        for piece in re.split(r",|\band\b|\bincluding\b", m.group("v")):
            piece = re.sub(r"^\s*(?:issues|problems)\s*", "", piece).strip()
            if piece:
                found.append(piece)
    out: list[str] = []
    for v in found:
        if v not in out:
            out.append(v)
    return out
