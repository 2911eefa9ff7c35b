"""Every word the reader sees, in Chinese (default) and English."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_ZH = {
    "brand": "借贷监测",
    "digest_title": "借贷监测日报",
    "alert_title": "借贷监测 · 即时提醒",
    "health_title": "借贷监测 · 数据源状态",
    "sev.high": "重要",
    "sev.medium": "关注",
    "sev.low": "一般",
    "auth.regulator": "监管机构",
    "auth.association": "行业协会",
    "auth.media": "媒体",
    "published": "发布",
    "first_seen": "发现（来源未给发布时间）",
    "doc": "文号",
    "issuer": "发文",
    "source": "来源",
    "snippet": "摘要",
    "reason": "原因",
    "also": "另见",
    "topics": "主题",
    "link": "链接",
    "attachments": "附件",
    "attachment_unread": "未读取",
    "penalty": "处罚",
    "penalty_parties": "{first}等{n}个当事人",
    "penalty_total": "罚没合计{amount}",
    "yuan": "{amount}元",
    "wan_yuan": "{amount}万元",
    "alerted": "已于 {time} 即时提醒",
    "no_topic": "其他",
    "window_first": "收录截至 {end} 的全部新标记条目（{tz}）",
    "window": "收录 {start} 至 {end} 新标记的条目（{tz}）",
    "count.high": "重要 {n} 条",
    "count.medium": "关注 {n} 条",
    "count.low": "一般 {n} 条",
    "count_join": " · ",
    "summary_none": "今日没有新的相关动态。",
    "summary_none_healthy": "今日没有新的相关动态，所有数据源运行正常。",
    "carried": "另有 {n} 条将在下一期列出。",
    "backlog": "已收录、未逐条发送",
    "backlog_first-fetch": "{name}：首次抓取，收录 {n} 条较早的条目，其中 {m} 条标记",
    "backlog_resumed": "{name}：中断后恢复抓取，收录 {n} 条期间的条目，其中 {m} 条标记",
    "backlog_below-seen": "{name}：{n} 条从列表下方滑入的旧条目，其中 {m} 条标记",
    "backlog_archive": "{name}：{n} 条发布时间较早的条目，其中 {m} 条标记",
    "backlog_browse": "查看：lendwatch export --source {id} --backlog",
    "health": "数据源状态",
    "health_ok": "全部 {n} 个数据源运行正常。",
    "health_bad": "{bad} 个数据源异常（共 {n} 个），其余正常：",
    "health_never": "尚未抓取：{names}",
    "health_since": "自 {since} 起，连续 {n} 次失败",
    "health_events": "数据源状态变化",
    "event.broken": "已中断",
    "event.recovered": "已恢复",
    "status.ok": "正常",
    "status.blocked": "被拦截",
    "status.layout-changed": "页面结构变化",
    "status.error": "抓取出错",
    "status.never-fetched": "尚未抓取",
    "alert_intro": "刚刚发现以下重要动态：",
    "footer": "本邮件由 lendwatch 自动生成；每条都附有标记原因。",
    "subject_digest": "【借贷监测】{date}：{counts}",
    "subject_count.high": "重要{n}条",
    "subject_count.medium": "关注{n}条",
    "subject_count.low": "一般{n}条",
    "subject_count_join": "，",
    "subject_none": "无新动态",
    "subject_health": "，{n}个数据源异常",
    "subject_alert": "【借贷监测·提醒】{title}",
    "subject_alerts": "【借贷监测·提醒】{n}条重要：{title} 等",
    "subject_events": "【借贷监测·数据源】{n}项状态变化：{first}",
    "date_subject": "{month}月{day}日",
    "date_heading": "{year}年{month}月{day}日 {weekday}",
    "tz.Asia/Shanghai": "北京时间",
    "weekdays": "星期一 星期二 星期三 星期四 星期五 星期六 星期日",
    "list_sep": "、",
    "matched": "命中{terms}",
    "term_quote": "「{term}」",
    "term_join": "+",
    "reason_join": " · ",
    "colon": "：",
    "lp": "（",
    "rp": "）",
    "facts": "阶段",
    "stage.draft": "征求意见稿",
    "stage.final": "正式发布",
    "stage.amendment": "修订",
    "stage.repeal": "废止",
    "stage.interpretation": "解读",
    "stage.enforcement": "行政处罚",
    "fact.comment_deadline": "征求意见截止",
    "fact.effective": "施行",
    "fact.transition_end": "过渡期至",
    "fact.repeals": "废止{titles}",
    "title_quote": "《{title}》",
    "day_short": "{month}月{day}日",
    "day_long": "{year}年{month}月{day}日",
    "days_left": "还有{n}天",
    "days_today": "今天",
    "days_over": "已截止",
    "agenda": "日程",
    "agenda_window": "未来{n}天",
    "reminder_title": "借贷监测 · 日程提醒",
    "reminder_intro": "以下日期临近：",
    "subject_reminder": "【借贷监测·日程】{when}{what}：{title}",
    "subject_reminders": "【借贷监测·日程】{n}项临近：{when}{what}：{title} 等",
}

_EN = {
    "brand": "Lending watch",
    "digest_title": "Lending watch — daily digest",
    "alert_title": "Lending watch — alert",
    "health_title": "Lending watch — source status",
    "sev.high": "Important",
    "sev.medium": "Notable",
    "sev.low": "Other",
    "auth.regulator": "regulator",
    "auth.association": "association",
    "auth.media": "media",
    "published": "Published",
    "first_seen": "Found (no publication date given)",
    "doc": "Doc. no.",
    "issuer": "Issued by",
    "source": "Source",
    "snippet": "Excerpt",
    "reason": "Why",
    "also": "Also reported by",
    "topics": "Topics",
    "link": "Link",
    "attachments": "Attachment",
    "attachment_unread": "text not read",
    "penalty": "Penalty",
    "penalty_parties": "{first} and {more} others",
    "penalty_total": "fines and confiscations {amount}",
    "yuan": "CNY {amount}",
    "alerted": "Alert sent {time}",
    "no_topic": "Other",
    "window_first": "Everything flagged up to {end} ({tz})",
    "window": "Flagged between {start} and {end} ({tz})",
    "count.high": "{n} important",
    "count.medium": "{n} notable",
    "count.low": "{n} other",
    "count_join": " · ",
    "summary_none": "Nothing new today.",
    "summary_none_healthy": "Nothing new today; all sources are healthy.",
    "carried": "{n} more will be listed in the next digest.",
    "backlog": "Indexed, not sent one by one",
    "backlog_first-fetch": "{name}: first fetch, {n} earlier items indexed, {m} flagged",
    "backlog_resumed": "{name}: back after an outage, {n} items of the gap indexed, {m} flagged",
    "backlog_below-seen": "{name}: {n} older items scrolled in below the list, {m} flagged",
    "backlog_archive": "{name}: {n} items published long ago, {m} flagged",
    "backlog_browse": "Browse: lendwatch export --source {id} --backlog",
    "health": "Source health",
    "health_ok": "All {n} sources are healthy.",
    "health_bad": "{bad} of {n} sources are failing; the others are healthy:",
    "health_never": "Not fetched yet: {names}",
    "health_since": "since {since}, {n} failures in a row",
    "health_events": "Source status changes",
    "event.broken": "broken",
    "event.recovered": "recovered",
    "status.ok": "ok",
    "status.blocked": "blocked",
    "status.layout-changed": "layout changed",
    "status.error": "fetch error",
    "status.never-fetched": "never fetched",
    "alert_intro": "Just found:",
    "footer": "Generated by lendwatch; every entry says why it was flagged.",
    "subject_digest": "[Lending watch] {date}: {counts}",
    "subject_count.high": "{n} important",
    "subject_count.medium": "{n} notable",
    "subject_count.low": "{n} other",
    "subject_count_join": ", ",
    "subject_none": "nothing new",
    "subject_health": ", {n} source(s) failing",
    "subject_alert": "[Lending watch alert] {title}",
    "subject_alerts": "[Lending watch alert] {n} important: {title} and more",
    "subject_events": "[Lending watch] {n} source status changes: {first}",
    "date_subject": "{day} {month_abbr}",
    "date_heading": "{weekday}, {day} {month_name} {year}",
    "tz.Asia/Shanghai": "Beijing time",
    "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "list_sep": ", ",
    "matched": "matched {terms}",
    "term_quote": '"{term}"',
    "term_join": " + ",
    "reason_join": " · ",
    "colon": ": ",
    "lp": " (",
    "rp": ")",
    "facts": "Stage",
    "stage.draft": "draft for comment",
    "stage.final": "final",
    "stage.amendment": "amendment",
    "stage.repeal": "repeal",
    "stage.interpretation": "explainer",
    "stage.enforcement": "enforcement",
    "fact.comment_deadline": "comments due",
    "fact.effective": "in force",
    "fact.transition_end": "transition ends",
    "fact.repeals": "repeals {titles}",
    "title_quote": "《{title}》",
    "day_short": "{day} {month_abbr}",
    "day_long": "{day} {month_abbr} {year}",
    "days_left": "{n} days left",
    "days_today": "today",
    "days_over": "closed",
    "agenda": "Agenda",
    "agenda_window": "next {n} days",
    "reminder_title": "Lending watch — dates ahead",
    "reminder_intro": "Coming up:",
    "subject_reminder": "[Lending watch dates] {when} {what}: {title}",
    "subject_reminders": "[Lending watch dates] {n} coming up: {when} {what}: {title} and more",
}

# Topic ids of rules.toml ([topics.<id>]) as readers see them; an unknown id is shown as is.
TOPICS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "micro-loan": ("网络小贷", "Online micro-lenders"),
        "bank-internet-loan": ("互联网贷款与助贷", "Internet loans & loan facilitation"),
        "consumer-finance": ("消费金融", "Consumer finance"),
        "p2p": ("P2P与网贷", "P2P & online lending"),
        "credit-reporting": ("征信", "Credit reporting"),
        "collection": ("催收", "Debt collection"),
        "predatory": ("套路贷与现金贷", "Predatory lending"),
        "rate-cap": ("利率上限", "Interest-rate caps"),
        "bnpl": ("先买后付", "BNPL & payday loans"),
        "platform-change": ("平台信贷产品变动", "Platform credit products"),
        "data-privacy-credit": ("信贷个人信息", "Credit data & privacy"),
        "enforcement": ("监管处罚与整改", "Enforcement"),
        "consumer-credit-en": ("境外消费信贷规则", "Consumer credit rules"),
        "credit-policy": ("信贷政策", "Credit policy"),
        "fintech-general": ("金融科技与支付", "Fintech & payments"),
    }
)

# rules.toml [doctypes.<key>]: a Match of kind "doctype:<key>" names the document type (an
# action is shown in the item's own words, from its Match of kind "action:<key>").
DOCTYPES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "law": ("法律/行政法规", "law or regulation"),
        "judicial": ("司法解释", "judicial interpretation"),
        "rule": ("部门规章", "ministerial regulation"),
        "draft": ("征求意见稿", "draft for comment"),
        "normative": ("规范性文件", "normative document"),
        "qa": ("答记者问/解读", "Q&A / explainer"),
    }
)

# Verdict.authority is the registry name of rules.toml [authorities.*]; English for the digest.
AUTHORITIES_EN: Mapping[str, str] = MappingProxyType(
    {
        "国务院": "State Council",
        "全国人大常委会": "NPC Standing Committee",
        "中国人民银行": "PBOC",
        "国家金融监督管理总局": "NFRA",
        "金融监管总局派出机构": "NFRA local office",
        "金融管理部门": "financial regulators",
        "地方金融管理部门": "local financial regulator",
        "最高人民法院": "Supreme People's Court",
        "中国证监会": "CSRC",
        "国家网信办": "CAC",
        "工业和信息化部": "MIIT",
        "公安部": "Ministry of Public Security",
        "财政部": "Ministry of Finance",
        "市场监管总局": "SAMR",
        "国家外汇管理局": "SAFE",
        "国家发展改革委": "NDRC",
        "教育部": "Ministry of Education",
        "中国互联网金融协会": "NIFA",
        "行业协会": "industry association",
    }
)

LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"zh": MappingProxyType(_ZH), "en": MappingProxyType(_EN)}
)
BEIJING_ZONES = ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC")


def labels(language: str) -> Mapping[str, str]:
    return LABELS.get(language, LABELS["zh"])


def tz_label(language: str, timezone: str) -> str:
    if timezone in BEIJING_ZONES:
        return labels(language)["tz.Asia/Shanghai"]
    return timezone


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if language == "en" else pair[0]


def topic_label(language: str, topic: str) -> str:
    """A topic id as readers see it; an unknown topic is its id."""
    pair = TOPICS.get(topic)
    return _pick(pair, language) if pair else topic


def doctype_label(language: str, key: str) -> str | None:
    pair = DOCTYPES.get(key)
    return _pick(pair, language) if pair else None


def authority_label(language: str, name: str) -> str:
    return AUTHORITIES_EN.get(name, name) if language == "en" else name
