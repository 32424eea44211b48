"""The words of the leadership view: key-figure cards and one paragraph per finding.

:func:`figure_cards` turns :class:`~beatgrid.layers.leadership.KeyFigures` into the
cards the dashboard and the report open with; :func:`findings` writes one paragraph
per finding (what is short, where, by how much, and what would close it), in English
or Chinese, from a :class:`~beatgrid.layers.leadership.LeadershipSummary`:

* the district (or station) staffing total: beats below the policy and the staff
  to add;
* each understaffed beat, worst first: the rules it fails, required against on duty
  per role, and the officers, auxiliaries, managers and grid workers to add;
* each old estate with proposed cameras, riskiest first: its seen share, unseen area,
  cameras inside, households, preventable incidents, and the seen share the proposed
  cameras would give;
* the other old estates at risk, in one paragraph, with the command that proposes
  cameras for them.

Examples
--------
>>> from beatgrid.gis import Project
>>> from beatgrid.layers.leadership import leadership_summary
>>> s = leadership_summary(Project.open("sample-geodata/ningbo-jiangbei.gpkg"),
...                        proposal_estates=1)
>>> [f.subject for f in findings(s, lang="en")][:3]
['district', 'B03', 'B04']
>>> print(findings(s, lang="en")[1].text)  # doctest: +ELLIPSIS
Station S02. Needs 2 officers, has 1; needs 3 auxiliaries, has 1; needs 11 floating-population managers, has 7. ... To close the gap: add 1 officer, 2 auxiliaries and 4 floating-population managers.
>>> figure_cards(s.figures(), lang="en")[0]["value"]
'9 / 300'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from beatgrid.gis.policing.rules import ROLES
from beatgrid.layers.leadership import KeyFigures, LeadershipSummary
from beatgrid.layers.report_charts import percent
from beatgrid.layers.report_i18n import check_lang, label, role_label, rule_label, severity_label

__all__ = ["Finding", "figure_cards", "findings", "join_words", "area_text"]


@dataclass(frozen=True)
class Finding:
    """One paragraph of the report.

    Attributes
    ----------
    kind
        ``staffing``, ``beat``, ``estate`` or ``estates``.
    subject
        What it is about: ``district``/a station id, a beat id, an estate id, or
        ``others``.
    title, text
        The heading and the paragraph.
    level
        The severity (beats) or ``risk`` (estates), for colouring.
    """

    kind: str
    subject: str
    title: str
    text: str
    level: str = ""


def join_words(parts: Sequence[str], lang: str) -> str:
    """``a, b and c`` (English) or ``a、b、c`` (Chinese).

    Examples
    --------
    >>> join_words(["1 officer", "2 auxiliaries", "4 managers"], "en")
    '1 officer, 2 auxiliaries and 4 managers'
    >>> join_words(["民警 1 名", "辅警 2 名"], "zh")
    '民警 1 名、辅警 2 名'
    """
    if lang == "zh":
        return "、".join(parts)
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def area_text(m2: float) -> str:
    """An area for reading: m² below a hectare, hectares above.

    Examples
    --------
    >>> area_text(13734.5), area_text(575263.6), area_text(650)
    ('1.4 ha', '57.5 ha', '650 m²')
    """
    return f"{m2:,.0f} m²" if m2 < 10_000 else f"{m2 / 10_000:,.1f} ha"


def _staff(role: str, n: int, lang: str) -> str:
    return f"{n:,} {role_label(role, lang, count=n)}" if lang == "en" \
        else f"{role_label(role, lang)} {n:,} 名"


def figure_cards(figures: KeyFigures, *, lang: str) -> list[dict[str, str]]:
    """The key figures as cards: ``{"key", "value", "text", "sub"}``, most telling first."""
    check_lang(lang)
    f = figures
    return [
        {"key": "cameras_in_estates", "value": f"{f.cameras_in_estates} / {f.cameras}",
         "text": label("fig_cameras", lang, inside=f.cameras_in_estates, total=f.cameras),
         "sub": label("fig_cameras_old", lang, n=f.cameras_in_old_estates)},
        {"key": "clearly_understaffed", "value": f"{f.clearly_understaffed}",
         "text": label("fig_clear", lang, n=f.clearly_understaffed),
         "sub": label("fig_clear_sub", lang, n=f.understaffed, total=f.beats)},
        {"key": "old_estates_seen_share", "value": percent(f.old_estates_seen_share),
         "text": label("fig_old_seen", lang, share=percent(f.old_estates_seen_share)),
         "sub": label("fig_old_seen_sub", lang, n=f.old_estates,
                      none=f.old_estates_without_camera)},
        {"key": "short", "value": f"{f.short['officers']} + {f.short['auxiliaries']}",
         "text": label("fig_short", lang, officers=f.short["officers"],
                       auxiliaries=f.short["auxiliaries"]),
         "sub": join_words([_staff("floating_managers", f.short["floating_managers"], lang),
                            _staff("grid_workers", f.short["grid_workers"], lang)], lang)},
        {"key": "seen_share", "value": percent(f.seen_share),
         "text": label("fig_seen", lang, share=percent(f.seen_share)),
         "sub": label("fig_seen_sub", lang, area=area_text(f.estate_blind_spot_m2))},
    ]


def to_add(row: pd.Series | dict[str, object], lang: str) -> str:
    """The staff to add to close a beat's gaps, in words (``none`` when no gap).

    Examples
    --------
    >>> to_add({"officers_gap": 1, "auxiliaries_gap": 2, "floating_managers_gap": 0,
    ...         "grid_workers_gap": 0}, "en")
    '1 officer and 2 auxiliaries'
    """
    parts = [_staff(r, int(row[f"{r}_gap"]), lang) for r in ROLES   # type: ignore[call-overload]
             if pd.notna(row[f"{r}_gap"]) and int(row[f"{r}_gap"]) > 0]  # type: ignore[call-overload]
    return join_words(parts, lang) if parts else label("none", lang)


def _beat(row: pd.Series, lang: str) -> Finding:
    rules = [rule_label(r, lang) for r in str(row["failed_rules"]).split(";") if r]
    short = [r for r in ROLES if pd.notna(row[f"{r}_gap"]) and int(row[f"{r}_gap"]) > 0]
    sev = str(row["severity"])
    if lang == "en":
        needs = "; ".join(f"needs {_staff(r, int(row[f'{r}_required']), lang)}, has "
                          f"{int(row[f'{r}_actual']):,}" for r in short)
        text = (f"Station {row['station_id']}. {needs[:1].upper()}{needs[1:]}. "
                f"Rules not met: {join_words(rules, lang)} ({row['reasons']}). "
                f"To close the gap: add {to_add(row, lang)}.")
        title = f"{row['beat_id']} {row['name']}: {severity_label(sev, lang)}"
    else:
        needs = "；".join(f"应配{role_label(r, lang)} {int(row[f'{r}_required']):,} 名、实有 "
                         f"{int(row[f'{r}_actual']):,} 名" for r in short)
        text = (f"{row['name']}（{row['beat_id']}，派出所 {row['station_id']}）实有人口 "
                f"{int(row['population_actual']):,}，流动人口 {int(row['population_floating']):,}。"
                f"未达标规则：{join_words(rules, lang)}。{needs}。"
                f"需增配{to_add(row, lang)}。")
        title = f"{row['beat_id']} {row['name']}：{severity_label(sev, lang)}"
    return Finding("beat", str(row["beat_id"]), title, text, sev)


def _estate(row: pd.Series, n_old: int, lang: str) -> Finding:
    seen, after = percent(row["seen_share_all"]), percent(row["seen_share_after"])
    unseen = area_text(float(row["unseen_open_m2"]))
    cams, n = int(row["cameras_inside"]), int(row["proposed_cameras"])
    if lang == "en":
        inside = "no camera inside" if cams == 0 else f"{cams} camera(s) inside"
        text = (f"Station {row['station_id']}, community {row['community_id']}; risk "
                f"{row['risk_score']:.1f}, rank {int(row['rank'])} of {n_old}. Cameras see "
                f"{seen} of its open space ({unseen} unseen), {inside}, "
                f"{int(row['households']):,} households, {int(row['preventable_incidents']):,} "
                f"preventable incidents. To close it: place the {n} proposed cameras "
                f"({row['proposal_kinds']} mounts, marked on the map); they would raise the "
                f"seen share from {seen} to {after}.")
        title = f"{row['estate_id']} {row['name']}: {seen} seen"
    else:
        inside = "小区内无摄像头" if cams == 0 else f"小区内有摄像头 {cams} 个"
        text = (f"{row['name']}（{row['estate_id']}，派出所 {row['station_id']}，社区 "
                f"{row['community_id']}）风险评分 {row['risk_score']:.1f}，在 {n_old} 个老小区中"
                f"排第 {int(row['rank'])}。摄像头仅看见其公共空间的 {seen}，{unseen} 无人看见；"
                f"{inside}；{int(row['households']):,} 户；可防性案件 "
                f"{int(row['preventable_incidents']):,} 起。在图中标出的 {n} 个位置新增摄像头，"
                f"可将可见比例从 {seen} 提高到 {after}。")
        title = f"{row['estate_id']} {row['name']}：可见 {seen}"
    return Finding("estate", str(row["estate_id"]), title, text, "risk")


def _other_estates(rest: pd.DataFrame, project: str, lang: str) -> Finding:
    items = [f"{r.estate_id} {r.name} ({percent(r.seen_share_all)}"
             + (", no camera)" if lang == "en" and r.cameras_inside == 0 else
                ("，无摄像头）" if lang == "zh" and r.cameras_inside == 0 else ")"))
             for r in rest.itertuples()]
    if lang == "zh":
        items = [i.replace(" (", "（").replace(")", "）") for i in items]
    first = rest["estate_id"].iloc[0]
    command = f"beatgrid cameras recommend --project {project} --estate {first} --budget 3"
    if lang == "en":
        text = (f"{len(rest)} more old estates are under-monitored: {join_words(items, lang)}. "
                f"Cameras for each: `{command}` (one estate at a time).")
        title = "Other old estates at risk"
    else:
        text = (f"另有 {len(rest)} 个老小区监控不足：{join_words(items, lang)}。"
                f"逐个小区提出新增摄像头位置：`{command}`。")
        title = "其他风险老小区"
    return Finding("estates", "others", title, text, "risk")


def _district(figures: KeyFigures, lang: str) -> Finding:
    f = figures
    where = f.station or label("district", lang)
    adds = [_staff(r, f.short[r], lang) for r in ROLES if f.short[r] > 0]
    if lang == "en":
        text = (f"{f.understaffed} of {f.beats} beats fall below the staffing policy, "
                f"{f.clearly_understaffed} of them clearly (high or critical). "
                + (f"Adding {join_words(adds, lang)}, placed as in the beats below, closes "
                   "every gap." if adds else "No staff is short."))
        title = f"Staffing in {where}" if f.station else "Staffing across the district"
    else:
        text = (f"{f.beats} 个警务区中有 {f.understaffed} 个低于警力配置标准，其中 "
                f"{f.clearly_understaffed} 个明显不足（严重或危急）。"
                + (f"按下列警务区增配{join_words(adds, lang)}，即可补齐全部缺口。"
                   if adds else "无人员缺口。"))
        title = f"{where} 警力配置" if f.station else "全区警力配置"
    return Finding("staffing", f.station or "district", title, text,
                   "high" if f.clearly_understaffed else ("low" if f.understaffed else "ok"))


def findings(summary: LeadershipSummary, *, station: str | None = None,
             lang: str) -> list[Finding]:
    """One :class:`Finding` per thing to act on, the staffing total first."""
    check_lang(lang)
    station = summary.check_station(station)
    out = [_district(summary.figures(station), lang)]
    beats = summary.beat_table(station)
    bad = beats[beats["failed_rules"].astype(str).str.len() > 0]
    out += [_beat(row, lang) for _, row in bad.iterrows()]
    estates = summary.estate_table(station)
    n_old = len(summary.estates)
    with_cams = estates[estates["proposed_cameras"] > 0]
    out += [_estate(row, n_old, lang) for _, row in with_cams.iterrows()]
    rest = estates[estates["proposed_cameras"] == 0]
    if len(rest):
        out.append(_other_estates(rest, summary.project, lang))
    return out
