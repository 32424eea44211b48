"""Words of the leadership dashboard and report, in English and Chinese.

One table, :data:`LABELS`, holds every label the dashboard page and the report show
(the page receives it as JSON from ``GET /dashboard/data``), so both say the same thing
in both languages. Rule, role and severity names of the staffing assessment
(:mod:`beatgrid.gis.policing.rules`) have their own tables.

Examples
--------
>>> label("key_figures", "zh"), label("key_figures", "en")
('关键数字', 'Key figures')
>>> rule_label("officers_inverted", "zh")
'人口倒挂需双警'
>>> check_lang("fr")
Traceback (most recent call last):
...
beatgrid.gis.errors.InputError: language 'fr' is not offered Fix: use en (English) or zh (中文)
"""

from __future__ import annotations

from collections.abc import Mapping

from beatgrid.gis.errors import InputError

#: Languages offered, the first is the default.
LANGS = ("en", "zh")

#: key -> {language: text}. ``{n}``-style fields are filled by the caller.
LABELS: Mapping[str, Mapping[str, str]] = {
    "title": {"en": "Leadership view", "zh": "领导视图"},
    "report_title": {"en": "Community policing: staffing and camera coverage",
                     "zh": "社区警务：警力配置与视频覆盖"},
    "key_figures": {"en": "Key figures", "zh": "关键数字"},
    "station": {"en": "Station", "zh": "派出所"},
    "all_stations": {"en": "All stations", "zh": "全部派出所"},
    "language": {"en": "Language", "zh": "语言"},
    "download_html": {"en": "Report (HTML)", "zh": "报告 (HTML)"},
    "download_pdf": {"en": "Report (PDF)", "zh": "报告 (PDF)"},
    "staffing": {"en": "Staffing of the beats", "zh": "警务区警力配置"},
    "coverage": {"en": "Cameras in the old estates", "zh": "老小区视频监控"},
    "map_beats": {"en": "Understaffed beats", "zh": "警力不足的警务区"},
    "map_estates": {"en": "Under-monitored old estates", "zh": "监控不足的老小区"},
    "table_beats": {"en": "Beats by staffing gap", "zh": "警务区警力缺口排名"},
    "table_estates": {"en": "Old estates by risk", "zh": "老小区风险排名"},
    "chart_roles": {"en": "Staff required and on duty", "zh": "应配与实有人员"},
    "chart_seen": {"en": "Open space seen by a camera, per old estate",
                   "zh": "各老小区公共空间视频可见比例"},
    "findings": {"en": "Findings", "zh": "主要问题"},
    "notes": {"en": "Notes", "zh": "说明"},
    "rank": {"en": "Rank", "zh": "排名"},
    "beat": {"en": "Beat", "zh": "警务区"},
    "estate": {"en": "Estate", "zh": "小区"},
    "severity": {"en": "Severity", "zh": "严重程度"},
    "rules_failed": {"en": "Rule not met", "zh": "未达标规则"},
    "to_add": {"en": "To add", "zh": "需增配"},
    "risk": {"en": "Risk", "zh": "风险"},
    "seen_share": {"en": "Seen", "zh": "可见比例"},
    "cameras_inside": {"en": "Cameras", "zh": "摄像头"},
    "households": {"en": "Households", "zh": "户数"},
    "best_cameras": {"en": "Cameras that would raise it most",
                     "zh": "提升最多的新增摄像头"},
    "seen_now": {"en": "Seen now", "zh": "现有可见"},
    "seen_after": {"en": "With the proposed cameras", "zh": "新增建议摄像头后"},
    "actual_of_required": {"en": "on duty / required", "zh": "实有/应配"},
    "required": {"en": "Required", "zh": "应配"},
    "actual": {"en": "On duty", "zh": "实有"},
    "short": {"en": "Short", "zh": "缺口"},
    "none": {"en": "none", "zh": "无"},
    "not_computed": {"en": "not computed", "zh": "未计算"},
    "existing_camera": {"en": "Camera", "zh": "现有摄像头"},
    "proposed_camera": {"en": "Proposed camera", "zh": "建议新增摄像头"},
    "blind_spot": {"en": "Blind spot", "zh": "盲区"},
    "other_estate": {"en": "Other estate", "zh": "其他小区"},
    "old_estate": {"en": "Old estate", "zh": "老小区"},
    "old_estate_proposed": {"en": "Old estate, cameras proposed", "zh": "老小区（建议新增摄像头）"},
    "street": {"en": "Street", "zh": "街道"},
    "building": {"en": "Building", "zh": "建筑"},
    "fig_cameras": {"en": "{inside} of {total} cameras inside estates",
                    "zh": "{total} 个摄像头中 {inside} 个在小区内"},
    "fig_cameras_old": {"en": "{n} inside old estates", "zh": "其中老小区内 {n} 个"},
    "fig_clear": {"en": "{n} beats clearly understaffed", "zh": "{n} 个警务区警力明显不足"},
    "fig_clear_sub": {"en": "{n} of {total} below policy in some rule",
                      "zh": "{total} 个中 {n} 个有规则未达标"},
    "fig_old_seen": {"en": "{share} of old estates' open space seen",
                     "zh": "老小区公共空间可见 {share}"},
    "fig_old_seen_sub": {"en": "{n} old estates, {none} with no camera inside",
                         "zh": "老小区 {n} 个，其中 {none} 个内部无摄像头"},
    "fig_short": {"en": "{officers} officers, {auxiliaries} auxiliaries short",
                  "zh": "缺民警 {officers} 名、辅警 {auxiliaries} 名"},
    "fig_seen": {"en": "{share} of all open space seen", "zh": "全部公共空间可见 {share}"},
    "fig_seen_sub": {"en": "blind spots in estates: {area}", "zh": "小区内盲区面积 {area}"},
    "generated": {"en": "Project {project}; computed {when}.",
                  "zh": "项目 {project}；生成于 {when}。"},
    "proposal_cell": {"en": "{n} cameras: {before} → {after}",
                      "zh": "{n} 个：{before} → {after}"},
    "district": {"en": "the district", "zh": "全区"},
}

#: Staffing rule -> {language: short name}.
RULE_LABELS: Mapping[str, Mapping[str, str]] = {
    "officers_per_beat": {"en": "officers per beat", "zh": "一区一警"},
    "officers_population": {"en": "population over the two-officer line",
                            "zh": "人口超标需双警"},
    "officers_inverted": {"en": "floating population above registered",
                          "zh": "人口倒挂需双警"},
    "officers_room_type": {"en": "police room type", "zh": "警务室类型"},
    "officers_workload": {"en": "incident workload", "zh": "警情工作量"},
    "auxiliaries_ratio": {"en": "auxiliaries per officer", "zh": "警辅比"},
    "floating_managers_ratio": {"en": "floating residents per manager",
                                "zh": "流动人口管理员配比"},
    "grid_workers_per_grid": {"en": "grid workers per grid", "zh": "网格员配置"},
}

#: Role -> {language: (singular, plural)}.
ROLE_LABELS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "officers": {"en": ("officer", "officers"), "zh": ("民警", "民警")},
    "auxiliaries": {"en": ("auxiliary", "auxiliaries"), "zh": ("辅警", "辅警")},
    "floating_managers": {"en": ("floating-population manager",
                                 "floating-population managers"),
                          "zh": ("流动人口管理员", "流动人口管理员")},
    "grid_workers": {"en": ("grid worker", "grid workers"), "zh": ("网格员", "网格员")},
}

#: Severity -> {language: word}.
SEVERITY_LABELS: Mapping[str, Mapping[str, str]] = {
    "ok": {"en": "ok", "zh": "达标"},
    "not judged": {"en": "not judged", "zh": "无法评估"},
    "low": {"en": "low", "zh": "轻微"},
    "medium": {"en": "medium", "zh": "中等"},
    "high": {"en": "high", "zh": "严重"},
    "critical": {"en": "critical", "zh": "危急"},
}


def check_lang(lang: str) -> str:
    """``lang`` when it is offered (:data:`LANGS`), else :class:`InputError`."""
    if lang not in LANGS:
        raise InputError(f"language {lang!r} is not offered",
                         fix="use en (English) or zh (中文)")
    return lang


def label(key: str, lang: str, **fields: object) -> str:
    """The label ``key`` in ``lang``, its ``{fields}`` filled.

    Examples
    --------
    >>> label("fig_clear", "en", n=4)
    '4 beats clearly understaffed'
    """
    text = LABELS[key][check_lang(lang)]
    return text.format(**fields) if fields else text


def rule_label(rule: str, lang: str) -> str:
    """A staffing rule's short name (the rule's own name when it has none)."""
    return RULE_LABELS.get(rule, {}).get(check_lang(lang), rule)


def role_label(role: str, lang: str, *, count: int = 2) -> str:
    """A role's name, singular when ``count`` is 1 (English).

    Examples
    --------
    >>> role_label("auxiliaries", "en", count=1), role_label("officers", "zh")
    ('auxiliary', '民警')
    """
    singular, plural = ROLE_LABELS[role][check_lang(lang)]
    return singular if count == 1 else plural


def severity_label(severity: str, lang: str) -> str:
    """A severity level in words."""
    return SEVERITY_LABELS.get(severity, {}).get(check_lang(lang), severity)


def labels_for(lang: str) -> dict[str, object]:
    """Every label of ``lang`` as one JSON-ready mapping (for the dashboard page).

    Examples
    --------
    >>> labels_for("zh")["severity_levels"]["high"]
    '严重'
    """
    check_lang(lang)
    out: dict[str, object] = {key: texts[lang] for key, texts in LABELS.items()}
    out["rules"] = {rule: texts[lang] for rule, texts in RULE_LABELS.items()}
    out["roles"] = {role: texts[lang][1] for role, texts in ROLE_LABELS.items()}
    out["severity_levels"] = {sev: texts[lang] for sev, texts in SEVERITY_LABELS.items()}
    return out
