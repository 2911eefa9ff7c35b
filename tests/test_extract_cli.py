"""``lendwatch extract``: the JSON-lines contract, bad lines, and ``--score``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli

KEYS = [
    "id",
    "stage",
    "comment_deadline",
    "effective",
    "effective_raw",
    "transition_end",
    "repeals",
    "doc_number",
    "penalty",
]
DATA = Path(__file__).parent / "data" / "extract"


def run(stdin: str, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["extract", *args], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def test_contract_fields_and_dates() -> None:
    items = [
        {
            "id": "draft",
            "title": "关于《X办法（征求意见稿）》公开征求意见的通知",
            "body": "现向社会公开征求意见。意见建议请于11月23日前反馈。",
            "published": "2018-11-12",
        },
        {
            "id": 7,
            "title": "中国人民银行令〔2021〕第1号（非银行支付机构客户备付金存管办法）",
            "body": (
                "现予发布，自2021年3月1日起施行。\n第五十三条 自本办法施行之日起的6个月为过渡期。\n"
                "第五十四条 本办法自2021年3月1日起施行，"
                "《支付机构客户备付金存管办法》（中国人民银行公告"
                "〔2013〕第6号公布）同时废止。"
            ),
            "published": "2021-01-22T09:30:00+08:00",
        },
        {
            "id": "fine",
            "title": "海尔消费金融被罚",
            "body": "海尔消费金融有限公司因违反信用信息采集、提供、查询及相关管理规定,被罚款25万元,"
            "作出处罚决定的日期是2025年6月25日。",
            "published": None,
        },
    ]
    code, out, err = run("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n")
    assert code == 0, err
    assert [list(line) for line in out] == [KEYS] * 3
    draft, final, fine = out
    assert draft == {
        "id": "draft",
        "stage": "draft",
        "comment_deadline": "2018-11-23",
        "effective": None,
        "effective_raw": None,
        "transition_end": None,
        "repeals": [],
        "doc_number": None,
        "penalty": None,
    }
    assert final == {
        "id": 7,
        "stage": "final",
        "comment_deadline": None,
        "effective": "2021-03-01",
        "effective_raw": "自2021年3月1日起施行",
        "transition_end": "2021-08-31",
        "repeals": ["支付机构客户备付金存管办法"],
        "doc_number": "中国人民银行令〔2021〕第1号",
        "penalty": None,
    }
    assert fine["stage"] == "enforcement"
    assert fine["penalty"] == {
        "parties": ["海尔消费金融有限公司"],
        "amount_yuan": 250000,
        "authority": None,
        "decision_date": "2025-06-25",
        "violations": ["违反信用信息采集、提供、查询及相关管理规定"],
    }


def test_published_as_an_aware_datetime_is_a_beijing_date() -> None:
    item = {
        "id": 1,
        "title": "中国人民银行公告〔2015〕第13号",
        "body": "本办法自公布之日起施行。",
        "published": "2015-06-02T17:00:00Z",  # 2015-06-03 01:00 in Beijing
    }
    code, out, _ = run(json.dumps(item, ensure_ascii=False))
    assert code == 0
    assert out[0]["effective"] == "2015-06-03"


def test_bad_lines_are_named_and_the_others_still_processed() -> None:
    lines = [
        json.dumps(
            {"id": "a", "title": "中国人民银行令〔2021〕第4号", "body": ""}, ensure_ascii=False
        ),
        "not json",
        json.dumps({"title": "no id"}),
        json.dumps({"id": "c", "title": 5}),
        json.dumps({"id": "d", "title": "t", "published": "2025/1/1"}),
        json.dumps({"id": "e", "title": "t", "body": ["x"]}),
        "",
        json.dumps({"id": "f", "title": "t", "published": None}),
    ]
    code, out, err = run("\n".join(lines) + "\n")
    assert code == 1
    assert [line.get("id") for line in out] == ["a", None, None, "c", "d", "e", "f"]
    errors = {line["line"]: line["error"] for line in out if "error" in line}
    assert set(errors) == {2, 3, 4, 5, 6}
    assert "not JSON" in str(errors[2])
    assert "missing 'id'" in str(errors[3])
    assert "'title' must be a string" in str(errors[4])
    assert "'published' '2025/1/1'" in str(errors[5])
    assert "'body' must be a string" in str(errors[6])
    assert "line 2: not JSON" in err and "line 5:" in err
    assert "5 bad line(s)" in err
    assert out[0]["doc_number"] == "中国人民银行令〔2021〕第4号"
    assert list(out[-1]) == KEYS


def test_score_prints_every_field_and_every_miss(tmp_path: Path) -> None:
    good = (DATA / "extract_set.jsonl").read_text(encoding="utf-8").splitlines()[0]
    record = json.loads(good)
    record["id"] = "mislabelled"
    record["expected"]["effective"] = "2099-01-01"
    path = tmp_path / "set.jsonl"
    path.write_text(good + "\n" + json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["extract", "--score", str(path)])
    assert result.exit_code == 0
    assert "2 items" in result.stdout
    assert "effective              0.500" in result.stdout
    assert "stage                  1.000" in result.stdout
    assert "misses: 1" in result.stdout
    assert '[mislabelled] effective: got "2022-01-01", expected "2099-01-01"' in result.stdout


def test_score_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "title": "t"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["extract", "--score", str(path)])
    assert result.exit_code == 1
    assert f"{path}:1: 'expected' must be an object" in result.stderr


def test_the_cli_does_not_import_the_extractor() -> None:
    """``lendwatch --help`` must stay fast: pipeline.extract loads inside the command."""
    code = "import sys, pipeline.cli; print('pipeline.extract' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_readme_example_prints_what_it_shows() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## What is extracted\n") :]
    start = section.index("```console\n") + len("```console\n")
    console = section[start : section.index("\n```", start)]
    command, _, shown = console.partition("\n")
    assert command.startswith("$ echo '") and command.endswith("' | lendwatch extract")
    stdin = command[len("$ echo '") : -len("' | lendwatch extract")]
    code, out, _ = run(stdin + "\n")
    assert code == 0
    assert out == [json.loads(shown.replace("\n", ""))]
