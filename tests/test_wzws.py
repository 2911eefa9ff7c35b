"""WZWS recognition, unpacking and answers against real and reconstructed challenge pages.

The samples and the expected answers are in tests/fixtures/wzws/ (README.md there says where
each comes from); the answers in wzws-vectors.json were computed from the public algorithm and
cross-checked by running the pages' own packer.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.fetch import wzws
from pipeline.fetch.jspack import UnpackError, js_string, unpack_all

FIXTURES = Path(__file__).parent / "fixtures" / "wzws"
SOURCES = Path(__file__).parent / "fixtures" / "sources"
VECTORS: dict[str, Any] = json.loads((FIXTURES / "wzws-vectors.json").read_text("utf-8"))
PAGE = "https://www.pbc.gov.cn/goutongjiaoliu/113456/113469/index.html"


def sample(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def classic(name: str) -> wzws.Classic:
    found = wzws.recognise(200, sample(name))
    assert isinstance(found, wzws.Classic), f"{name}: {found}"
    return found


# --- the answer ----------------------------------------------------------------------------------

VECTOR_CASES = [
    ("pboc_real_2019ish", "vars"),
    ("other_site_real", "vars"),
    ("shared_fixture_packed", "vars_after_true_unpack"),
    ("shared_fixture_plain", "vars"),
]


@pytest.mark.parametrize(("key", "field"), VECTOR_CASES)
def test_answer_and_confirm_url_match_the_vectors(key: str, field: str) -> None:
    vector = VECTORS[key]
    values = vector[field]
    got = wzws.answer(values["wzwsquestion"], int(values["wzwsfactor"]))
    assert got == vector["wzwschallenge"]
    assert base64.b64decode(got).decode() == f"WZWS_CONFIRM_PREFIX_LABEL{vector['n']}"
    assert wzws.original_target(values["dynamicurl"]) == vector["dynamicurl_decoded"]
    assert wzws.dynamic_url(vector["dynamicurl_decoded"]) == values["dynamicurl"]
    challenge = wzws.Classic(
        values["dynamicurl"], values["wzwsquestion"], int(values["wzwsfactor"])
    )
    request = wzws.confirm(challenge, PAGE)
    assert request.url == "https://www.pbc.gov.cn" + vector["confirm_url"]
    assert (request.method, request.referer, request.body()) == ("GET", PAGE, None)
    assert request.headers() == {"Referer": PAGE}


def test_answer_counts_utf16_code_units_like_charcodeat() -> None:
    # "中" is one unit (20013); "𠀀" (U+20000) is the surrogate pair 0xD840 0xDC00.
    label = base64.b64decode(wzws.answer("中𠀀", 2)).decode()
    assert label == f"WZWS_CONFIRM_PREFIX_LABEL{(20013 + 0xD840 + 0xDC00) * 2 + 111111}"


def test_the_answer_is_appended_unescaped_and_joined_to_an_existing_query() -> None:
    found = wzws.Classic("/WZWSRELw==?x=1", "lO;D=#My]gEXCm_np2dT", 3674)
    url = wzws.confirm(found, "http://127.0.0.1:8080/a/b.html").url
    assert url == (
        "http://127.0.0.1:8080/WZWSRELw==?x=1&wzwschallenge="
        "V1pXU19DT05GSVJNX1BSRUZJWF9MQUJFTDYzMTI4MjM="
    )


# --- reading the page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "packed"),
    [
        ("wzws-pboc-packed-real.html", "pboc_real_2019ish", True),
        ("wzws-plain-var-reconstructed.html", "pboc_real_2019ish", False),
        ("wzws-other-site-packed-real.js", "other_site_real", True),
    ],
)
def test_real_pages_give_the_vector_values(name: str, key: str, packed: bool) -> None:
    found = classic(name)
    values = VECTORS[key]["vars"]
    assert found == wzws.Classic(
        dynamicurl=values["dynamicurl"],
        question=values["wzwsquestion"],
        factor=int(values["wzwsfactor"]),
        method="get",  # the template leaves the literal placeholder WZWS_METHOD for a GET
        params="",
        packed=packed,
    )
    assert found.target == VECTORS[key]["dynamicurl_decoded"]


def test_the_shared_samples_are_read() -> None:
    plain = classic("pboc-wzws-challenge.html")
    assert (plain.question, plain.factor, plain.target, plain.packed) == (
        "x",
        7,
        "/goutongjiaoliu",
        False,
    )
    packed = classic("pboc-wzws-packed.html")
    assert (packed.question, packed.factor, packed.method, packed.packed) == (
        "JZDE8GXD6NCF10EPF91",
        1968,
        "get",
        True,
    )
    assert wzws.confirm(packed, PAGE).url.endswith(VECTORS["shared_fixture_packed"]["confirm_url"])


def test_a_true_unpack_differs_from_pairing_the_word_list() -> None:
    """The shared packed sample's last word is empty: the packer keeps the token ``a``, which a
    names/values pairing of the word list would read as an empty value."""
    values, packed = wzws.variables(sample("pboc-wzws-packed.html").decode())
    assert packed
    assert (
        values["wzwsparams"]
        == VECTORS["shared_fixture_packed"]["vars_after_true_unpack"]["wzwsparams"]
    )
    words = re.search(r"'(var\|[^']*)'\.split", sample("pboc-wzws-packed.html").decode())
    assert words is not None
    pairs = dict(zip(words[1].split("|")[1::2], words[1].split("|")[2::2], strict=False))
    assert pairs["wzwsparams"] == ""  # what the shortcut would have read


def test_post_form_carries_the_original_parameters() -> None:
    found = classic("wzws-post-form-reconstructed.html")
    assert (found.method, found.params) == ("post", "pageNo=1&pageSize=15")
    assert found.target == "/redianzhuanti/118742/4122386/4122510/index.html"
    request = wzws.confirm(found, PAGE)
    assert request.method == "POST"
    assert request.form == (("pageNo", "1"), ("pageSize", "15"))
    assert request.body() == b"pageNo=1&pageSize=15"
    assert request.headers() == {
        "Referer": PAGE,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert "?wzwschallenge=V1pXU19DT05GSVJNX1BSRUZJWF9MQUJFTDYzMTI4MjM=" in request.url


def test_form_fields_split_like_the_page_script() -> None:
    assert wzws.form_fields("a=1&b=x=y&&c") == (("a", "1"), ("b", "x=y"), ("c", ""))


# --- the unpacker --------------------------------------------------------------------------------


def test_legacy_radix59_page_unpacks_to_the_go_tests_expected_cookie() -> None:
    """The legacy page uses a base-59 token alphabet; its unpacked solver, evaluated by hand,
    must give the cookie that the public Go test expects (an independent check)."""
    (code,) = unpack_all(sample("wzws-legacy-template.html").decode())
    vector = VECTORS["legacy_template_variant"]
    assert f'var wzwschallenge="{vector["wzwschallenge_var"]}"' in code
    assert f'var dynamicurl="{vector["dynamicurl"]}"' in code
    m = re.search(r"hash \*= (\d+);hash \+= (\d+);return \"(\w+)\"\+hash;", code)
    assert m is not None, code[:400]
    tmp = vector["wzwschallenge_var"] + vector["wzwschallengex_var"]
    value = sum(map(ord, tmp)) * int(m[1]) + int(m[2])
    cookie = base64.b64encode(f"{m[3]}{value}".encode()).decode()
    assert cookie == vector["expected_by_test"]["wzwschallenge"]
    template = re.search(r"var template=(\d+);", code)
    assert template is not None
    assert (
        base64.b64encode(template[1].encode()).decode()
        == vector["expected_by_test"]["wzwstemplate"]
    )


def _pack62(source: str) -> str:
    """A packer with the radix-62 recursive encoder, as packer tools emit for large scripts."""
    words = sorted(set(re.findall(r"\b\w+\b", source, re.ASCII)))

    def encode(c: int) -> str:
        head = "" if c < 62 else encode(c // 62)
        r = c % 62
        return head + (chr(r + 29) if r > 35 else "0123456789abcdefghijklmnopqrstuvwxyz"[r])

    index = {w: encode(i) for i, w in enumerate(words)}
    packed = re.sub(r"\b\w+\b", lambda m: index[m[0]], source, flags=re.ASCII)
    escaped = packed.replace("\\", "\\\\").replace("'", "\\'")
    return (
        "eval(function(p,a,c,k,e,r){e=function(c){return(c<a?'':e(parseInt(c/a)))+((c=c%a)>35?"
        "String.fromCharCode(c+29):c.toString(36))};if(!''.replace(/^/,String)){while(c--)"
        "r[e(c)]=k[c]||e(c);k=[function(e){return r[e]}];e=function(){return'\\\\w+'};c=1};"
        "while(c--)if(k[c])p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c]);return p}"
        f"('{escaped}',62,{len(words)},'{'|'.join(words)}'.split('|'),0,{{}}))"
    )


def test_radix62_with_two_character_tokens_round_trips() -> None:
    names = [f"v{i}" for i in range(150)]  # more than 62 words: tokens of two characters
    source = "".join(f"var {n}='{n}\\'s value';" for n in names)
    source += 'var wzwsquestion="a;b=c#d]";var wzwsfactor="12";var dynamicurl="/WZWSRELw==";'
    (code,) = unpack_all(f"<script>{_pack62(source)}</script>")
    assert code == source
    found = wzws.recognise(200, f"<script>{_pack62(source)}</script>")
    assert found == wzws.Classic("/WZWSRELw==", "a;b=c#d]", 12, packed=True)


def test_js_string_escapes() -> None:
    assert js_string(r"'a\'b\\c\x41\u4e2d\n'") == "a'b\\cA中\n"
    assert js_string('"say \\"hi\\""') == 'say "hi"'
    with pytest.raises(UnpackError):
        js_string("'unterminated")


def test_an_unreadable_packed_script_is_a_named_unsolvable() -> None:
    page = (
        "<script>eval(function(p,a,c,k,e,r){e=function(c){return c.toString(a)};return p}"
        "('0 1=\"2\";',99,3,'var|wzwsquestion|x'.split('|'),0,{}))</script>"
    )
    with pytest.raises(UnpackError):
        list(unpack_all(page))
    found = wzws.recognise(200, page)
    assert isinstance(found, wzws.Unsolvable)
    assert found.variant == "unreadable"
    assert "radix 99" in found.reason


# --- variants and non-challenges -----------------------------------------------------------------

VARIANTS: list[tuple[str, int, dict[str, str], str, str]] = [
    ("wzws-waf-zw-verify-reconstructed.html", 200, {}, "waf-zw-verify", "/waf_zw_verify"),
    ("wzws-text-captcha-reconstructed.html", 200, {}, "text-captcha", "text captcha"),
    ("wzws-hard-block-reconstructed.html", 403, {}, "hard-block", "UrlACL"),
    ("wzws-legacy-template.html", 200, {}, "legacy-template", "wzwstemplate"),
]


@pytest.mark.parametrize(("name", "status", "headers", "variant", "said"), VARIANTS)
def test_variants_are_unsolvable_and_named(
    name: str, status: int, headers: dict[str, str], variant: str, said: str
) -> None:
    found = wzws.recognise(status, sample(name), headers)
    assert isinstance(found, wzws.Unsolvable)
    assert found.variant == variant
    assert said in found.reason


def test_360_and_slider_pages_are_unsolvable() -> None:
    # 360 网站卫士 block page as sqlmap's and wafw00f's rules describe it (HTTP 493, its logo).
    page = b'<html><body><img src="/wzws-waf-cgi/wzblogo.png"></body></html>'
    found = wzws.recognise(493, page)
    assert isinstance(found, wzws.Unsolvable) and found.variant == "360wzb"
    found = wzws.recognise(200, b"<html></html>", {"x-powered-by-360wzb": "x"})
    assert isinstance(found, wzws.Unsolvable) and found.variant == "360wzb"
    slider = "<html><div class='waf_slider'>请完成安全验证，拖动滑块</div></html>"
    found = wzws.recognise(200, slider)
    assert isinstance(found, wzws.Unsolvable) and found.variant == "slider"


def test_wzws_markers_without_values_are_reported_not_ignored() -> None:
    page = (
        '<noscript>请开启JavaScript并刷新该页.</noscript><script>var wzwsquestion="abc";</script>'
    )
    found = wzws.recognise(200, page)
    assert isinstance(found, wzws.Unsolvable)
    assert found.variant == "unreadable"
    assert "dynamicurl, wzwsfactor" in found.reason
    bad = 'var dynamicurl="/WZWSRELw==";var wzwsquestion="a";var wzwsfactor="x7";'
    found = wzws.recognise(200, bad)
    assert isinstance(found, wzws.Unsolvable) and "'x7'" in found.reason


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SOURCES.iterdir() if p.suffix in (".html", ".xml", ".json")),
    ids=lambda p: p.name,
)
def test_ordinary_pages_are_not_challenges(path: Path) -> None:
    """Every recorded source page (bad ones included) except the WZWS sample is no challenge."""
    found = wzws.recognise(200, path.read_bytes())
    if path.name == "bad-pboc-wzws.html":
        assert isinstance(found, wzws.Classic)
    else:
        assert found is None


def test_a_page_that_only_names_a_wzws_cookie_is_not_a_challenge() -> None:
    page = "<html><body><p>新闻</p><script>var n='wzws_cid';</script></body></html>"
    assert wzws.recognise(200, page) is None
    assert wzws.recognise(403, "<html>Forbidden</html>") is None
