"""``lendwatch classify | eval | explain | reclassify`` through click, on real files and SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from pipeline.cli.classify_cmds import classify, eval_cmd, explain, reclassify
from pipeline.config import load_config
from pipeline.models import Item
from pipeline.store import Store

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules.toml"


def write_config(tmp_path: Path, rules: Path = RULES) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[settings]
data_dir = "data"
rules = "{rules}"

[[sources]]
id = "nfra"
name = "国家金融监督管理总局"
kind = "rss"
url = "https://nfra.example/feed.xml"
authority = "regulator"
issuer = "nfra"

[[sources]]
id = "sina"
name = "新浪财经"
kind = "rss"
url = "https://sina.example/feed.xml"
""",
        encoding="utf-8",
    )
    return path


def invoke(
    config: Path, command: click.Command, *args: str, stdin: str | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args), input=stdin, obj={"config_path": config})
    return result.exit_code, result.stdout, result.stderr


def lines(*records: object) -> str:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
    )


def test_classify_without_config_or_database(tmp_path: Path) -> None:
    stdin = lines(
        {"id": "a", "title": "支付宝借呗暂停部分用户借款服务"},
        {"id": 2, "title": "宝马8月在华销量近腰斩", "summary": "销量下滑"},
        "",
        {"id": "c", "title": "小额贷款公司监督管理暂行办法", "authority": "nfra"},
    )
    code, out, err = invoke(tmp_path / "absent.toml", classify, "--rules", str(RULES), stdin=stdin)
    assert code == 0, err
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, "c"]
    assert [r["flagged"] for r in rows] == [True, False, True]
    assert rows[0]["severity"] == "high" and "platform-change" in rows[0]["topics"]
    assert {"term", "field", "start", "end"} <= set(rows[0]["matches"][0])
    assert rows[1]["severity"] is None and rows[1]["matches"] == []
    assert rows[2]["authority"] == "国家金融监督管理总局"
    assert not (tmp_path / "data").exists()


def test_classify_bad_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    stdin = lines(
        {"id": "ok1", "title": "P2P网贷机构已全部停止运营"},
        "{not json",
        {"title": "no id"},
        {"id": "x", "title": 5},
        {"id": "y", "title": "网贷", "source": "nowhere"},
        {"id": "ok2", "title": "LPR下调"},
    )
    code, out, err = invoke(tmp_path / "absent.toml", classify, "--rules", str(RULES), stdin=stdin)
    assert code == 1
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["id"] for r in rows] == ["ok1", None, None, "x", "y", "ok2"]  # one per input
    assert [r.get("line") for r in rows] == [None, 2, 3, 4, 5, None]
    assert "flagged" in rows[0] and "flagged" in rows[5]
    assert rows[3]["error"] == "'title' must be a string" and "flagged" not in rows[3]
    assert "line 2: not JSON" in err
    assert "line 3: missing 'id'" in err
    assert "line 4: 'title' must be a string" in err
    assert "line 5: unknown source 'nowhere'" in err
    assert "4 bad line(s) not classified" in err


def test_classify_looks_up_the_source_issuer(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    title = "关于加强小额贷款公司监督管理的通知"
    stdin = lines(
        {"id": "reg", "title": title, "source": "nfra"},
        {"id": "media", "title": title, "source": "sina"},
        {"id": "bad", "title": title, "source": "pboc"},
    )
    code, out, err = invoke(config, classify, stdin=stdin)
    assert code == 1
    assert "line 3: unknown source 'pboc'; configured: nfra, sina" in err
    by_id = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert by_id["reg"]["severity"] == "high"
    assert by_id["reg"]["score"] > by_id["media"]["score"]
    assert "source issuer" in " ".join(by_id["reg"]["explanation"])


def test_classify_with_invalid_rules_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[meta]\nversion = "x"\n[[rules]]\nname = "r"\n', encoding="utf-8")
    code, _, err = invoke(tmp_path / "absent.toml", classify, "--rules", str(bad), stdin="")
    assert code == 2
    assert "invalid rules" in err and "rules[0] (r).topic: missing required key" in err


def test_classify_help_states_the_exit_codes(tmp_path: Path) -> None:
    code, out, _ = invoke(tmp_path / "absent.toml", classify, "--help")
    text = " ".join(out.split())  # click wraps the help to the terminal width
    assert code == 0 and "1 if any line was bad" in text


def test_eval_prints_metrics_misses_and_false_alarms(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        lines(
            {"id": "p1", "title": "网络小贷新规发布", "label": 2},
            {"id": "p2", "title": "借呗暂停部分用户服务", "summary": "", "label": 2},
            {"id": "p3", "title": "A headline with nothing to find", "label": 2},
            {"id": "n1", "title": "花呗额度怎么提升", "label": 0},
            {"id": "n2", "title": "消费金融公司增资", "label": 0},
            {"id": "m1", "title": "LPR下调", "label": 1},
            '{"id": "bad", "title": "x", "label": 3}',
        ),
        encoding="utf-8",
    )
    code, out, err = invoke(
        tmp_path / "absent.toml", eval_cmd, str(labelled), "--rules", str(RULES)
    )
    assert code == 1  # one bad line
    assert "labelled.jsonl:7: 'label' must be 0, 1 or 2, got 3" in err
    assert "precision 0.667  recall 0.667  F1 0.667  (tp 2, fp 1, fn 1; 3 items)" in out
    assert "label 1 (neighbours, count neither way): 1 items, 0 flagged, 0 high" in out
    assert "misses (label 2 not flagged): 1\n  line 3 [p3] A headline with nothing to find" in out
    assert "false alarms (label 0 flagged): 1\n  line 5 [n2] 消费金融公司增资" in out


def test_eval_reports_each_language_when_records_have_one(tmp_path: Path) -> None:
    labelled = tmp_path / "l.jsonl"
    labelled.write_text(
        lines(
            {"title": "网络小贷新规发布", "label": 2, "lang": "zh"},
            {"title": "網路小額貸款公司監管新規", "label": 2, "lang": "zh-hant"},
            {"title": "Regulators target payday loans", "label": 2, "lang": "en"},
            {"title": "A headline with nothing to find", "label": 2, "lang": "en"},
        ),
        encoding="utf-8",
    )
    code, out, _ = invoke(tmp_path / "absent.toml", eval_cmd, str(labelled), "--rules", str(RULES))
    assert code == 0
    assert "  lang zh: precision 1.000  recall 1.000  (tp 1, fp 0, fn 0; 1 items)" in out
    assert "  lang zh-hant: precision 1.000  recall 1.000  (tp 1, fp 0, fn 0; 1 items)" in out
    assert "  lang en: precision 1.000  recall 0.500  (tp 1, fp 0, fn 1; 2 items)" in out
    # one language, or none: no breakdown
    labelled.write_text(lines({"title": "网络小贷新规发布", "label": 2}), encoding="utf-8")
    code, out, _ = invoke(tmp_path / "absent.toml", eval_cmd, str(labelled), "--rules", str(RULES))
    assert "lang " not in out


def test_eval_bounds(tmp_path: Path) -> None:
    labelled = tmp_path / "l.jsonl"
    labelled.write_text(lines({"title": "网络小贷新规发布", "label": 2}), encoding="utf-8")
    args = (str(labelled), "--rules", str(RULES))
    assert invoke(tmp_path / "absent.toml", eval_cmd, *args, "--min-recall", "0.9")[0] == 0
    labelled.write_text(lines({"title": "nothing", "label": 2}), encoding="utf-8")
    assert invoke(tmp_path / "absent.toml", eval_cmd, *args, "--min-recall", "0.9")[0] == 1


def stored_items(config: Path) -> list[Item]:
    items = [
        Item(source_id="nfra", guid="g1", title="关于加强小额贷款公司监督管理的通知"),
        Item(source_id="sina", guid="g2", title="借呗新版页面设计曝光", summary="界面更简洁"),
        Item(source_id="sina", guid="g3", title="宝马8月在华销量近腰斩"),
    ]
    with Store.open(load_config(config).settings.db_path) as store:
        store.save_items(items)
    return items


def test_explain_and_reclassify_on_a_real_database(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    items = stored_items(config)

    code, out, err = invoke(config, explain, items[1].id[:8])
    assert code == 0, err
    assert "stored verdict: none (never classified)" in out
    assert "not flagged" in out and "rule platform-change not matched" in out

    code, out, _ = invoke(config, reclassify, "--dry-run")
    assert code == 0
    assert "reclassified 3 item(s)" in out and "3 would change" in out
    with Store.open(load_config(config).settings.db_path) as store:
        stored = store.get_item(items[0].id)
    assert stored is not None and stored.verdict is None  # dry run stored nothing

    code, out, _ = invoke(config, reclassify)
    assert "3 changed" in out and f"{items[0].id}  new: FLAGGED high" in out
    code, out, _ = invoke(config, reclassify)
    assert "0 changed" in out

    code, out, _ = invoke(config, explain, items[0].id)
    assert code == 0
    assert "stored verdict (rules 2026.1+" in out and "FLAGGED high" in out
    assert "with the current rules" not in out  # same rules version: nothing to compare
    assert "match '小额贷款公司' title[4:10] rule micro-loan (term)" in out

    code, out, _ = invoke(config, explain, items[0].id, "--json")
    assert json.loads(out)["flagged"] is True


def test_reclassify_reports_what_new_rules_change(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    items = stored_items(config)
    invoke(config, reclassify)
    narrower = tmp_path / "rules.toml"
    text = RULES.read_text(encoding="utf-8")
    text = text.replace('"小额贷款公司", ', "").replace('"小贷", ', "")
    text = text.replace('terms = ["小额贷款"]', 'terms = ["小额贷款业务许可"]')  # bare 小额贷款
    narrower.write_text(text, encoding="utf-8")
    code, out, _ = invoke(config, reclassify, "--rules", str(narrower))
    assert code == 0
    assert "1 changed" in out
    assert f"{items[0].id}  unflagged; severity high -> -; topics micro-loan -> -" in out
    code, out, _ = invoke(config, explain, items[0].id)
    assert "note: the current rules decide differently" in out


def test_explain_unknown_item(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, _, err = invoke(config, explain, "ffffffff")
    assert code == 1 and "no item 'ffffffff'" in err
