/* BeatGrid planner: the page's words in English and Chinese.
 *
 * t(key, vars) gives the label of the current language with {name} placeholders filled;
 * ruleText(violation, ...) words a broken rule (the service words them in English; the
 * Chinese is rebuilt from the rule's kind and figures).
 */

export const LABELS = {
  en: {
    title: "Grid planner",
    station: "Station", all_stations: "All stations", community: "Community",
    search_placeholder: "Find: name or code", pick_community: "— community —",
    plan: "Plan", no_plan: "— no plan —", new_draft: "New draft",
    source_published: "from the published grids", source_empty: "empty (paint every unit)",
    source_generate: "generated (a proposal to edit)",
    sign_in: "Sign in", sign_out: "Sign out", user_name: "Name", password: "Password",
    sign_in_intro: "Sign in with your BeatGrid account.",
    signed_in_as: "{name} · {role}", local_user: "local (one user)",
    role_viewer: "viewer", role_analyst: "analyst", role_planner: "planner", role_admin: "admin",
    read_only_role: "Read-only: a {role} cannot edit plans (the planner role can).",
    read_only_status: "Read-only: this plan is {status}. Make a new draft to edit it.",
    status_draft: "draft", status_published: "published", status_archived: "archived",
    tools: "Tools", mode_paint: "Paint", mode_erase: "Erase", mode_pan: "Move map",
    brush: "Brush", brush_px: "{n} px",
    only_unassigned: "Paint only unassigned units",
    erase_into: "Erase into", painting_into: "Painting into", no_grid: "— pick a grid —",
    lock: "Lock", unlock: "Unlock", locked: "locked",
    add_grid: "Add grid", remove_grid: "Remove grid", rebalance: "Rebalance",
    undo: "Undo", redo: "Redo", history: "History",
    saved: "Draft saved · step {step} of {last}",
    saved_published: "Published plan · step {step}",
    saved_hint: "Every change is saved at once as a step of the draft (undo goes back " +
      "step by step); there is nothing to save by hand.",
    saving: "Saving…",
    totals: "Grids", grid: "Grid", code: "Code", households: "Households", units: "Units",
    status: "Status", in_band: "in band", below: "{n} below {lo}", above: "{n} above {hi}",
    empty_grid: "empty", unassigned: "Unassigned", unassigned_row: "{units} units · {hh} households",
    band_note: "A basic grid holds {lo}–{hi} households.",
    rules: "Rules broken", no_rules: "Every grid keeps the rules.",
    n_rules: "{n} rules broken",
    compare: "Compare with published", publish: "Publish", export: "Export",
    export_geojson: "GeoJSON", export_csv: "Assignment CSV", import_csv: "Import CSV",
    help: "Shortcuts", close: "Close", cancel: "Cancel", ok: "OK",
    find_grid: "Find a grid",
    loading: "Loading…", loading_plan: "Loading plan {id}…",
    pick_prompt: "Pick a station and a community, then a plan or “New draft”.",
    no_draft: "Community {c} has no draft yet: create one with “New draft”.",
    locked_target: "Grid {grid} is locked: unlock it to paint into it.",
    skipped_locked: "Units in locked grids were left as they are: {n}.",
    nothing_moved: "Nothing to move under the brush.",
    stale: "Someone else changed this plan: it is reloaded as it is now (version {v}).",
    moved: "Moved into {grid}: {n} unit(s), {hh} households.",
    moved_building: "Building {b} moved into {grid} with its unit.",
    pick_grid_first: "Pick the grid to paint into (click a row of the grid list).",
    erase_pick: "Erase moves units out of the selected grid into the “Erase into” grid: pick both.",
    no_published: "Community {c} has no published plan yet: publish a draft first.",
    published_msg: "Plan {id} is published: its grids are now the project's grids.",
    confirm_publish: "Publish plan {id}? Its grids replace the published grids of {c}.",
    confirm_remove: "Remove grid {grid}? Its units become unassigned.",
    confirm_rebalance: "Rebalance: move few households so that every grid keeps the rules (locked grids stay)?",
    rebalanced: "Rebalanced: the grids that broke a rule were repaired.",
    grid_added: "Grid {grid} added: paint units into it.",
    grid_removed: "Grid {grid} removed: its units are unassigned.",
    locked_msg: "Grid {grid} is locked.", unlocked_msg: "Grid {grid} is unlocked.",
    undone: "Back to step {step}.", redone: "Forward to step {step}.",
    imported: "Imported into a new draft, plan {id}.",
    created: "New draft, plan {id}.",
    compare_title: "Draft (plan {a}) and published plan {b}",
    moved_summary: "{hh} households in {b} buildings change grid.",
    changed: "changed", draft: "Draft", published_col: "Published",
    diff_units: "units whose grid differs are outlined",
    error: "Error", fix: "Fix",
    denied: "Refused: {msg}",
    shortcuts: [
      ["B", "paint"], ["E", "erase"], ["V or hold Space", "move the map"],
      ["[ and ]", "smaller / larger brush"], ["U", "paint only unassigned units"],
      ["N / P", "next / previous grid"], ["L", "lock or unlock the grid"],
      ["A", "add a grid"], ["R", "rebalance"], ["C", "cameras"], ["Ctrl+Z", "undo"],
      ["Ctrl+Y or Ctrl+Shift+Z", "redo"], ["Esc", "cancel the stroke, close"],
      ["?", "this list"],
    ],
    click_hint: "Drag to paint; a click moves the unit (or the building's unit) under the pointer.",
    cameras: "Cameras", camera_add: "Add a camera", camera_save: "Save", camera_delete: "Delete",
    camera_propose: "Propose cameras", direction: "Direction", fov: "Angle", range: "Range",
    dome: "dome (360°)", estate_seen: "estate {estate}: {share} of its open space seen",
    outside_estates: "outside the estates",
    camera_saved: "Camera {id} saved; the coverage is recomputed by the service.",
    confirm_camera_delete: "Delete camera {id}?",
    propose_pick: "Select a camera inside an estate, or centre the map on an estate, to propose cameras for it.",
    proposed: "{n} cameras proposed for estate {estate}.", accept: "Accept", reject: "Reject",
    proposal_effect: "With all of them: {before}% → {after}% of the estate's open space seen.",
    camera_hint: "Add: press “Add a camera”, then click the map. Drag a camera to move it; " +
      "the sliders turn it and change its angle and range. Saved cameras change the coverage.",
    kinds: {
      households_below_min: "too few households", households_above_max: "too many households",
      multipart: "in pieces", outside_community: "outside the community",
      enclave: "inside another grid", hole: "has a hole", building_cut: "a building cut",
    },
  },
  zh: {
    title: "网格规划",
    station: "派出所", all_stations: "全部派出所", community: "社区",
    search_placeholder: "查找：名称或编码", pick_community: "— 选择社区 —",
    plan: "方案", no_plan: "— 无方案 —", new_draft: "新建草稿",
    source_published: "基于已发布网格", source_empty: "空白（逐一涂刷）",
    source_generate: "自动生成（再行修改）",
    sign_in: "登录", sign_out: "退出", user_name: "用户名", password: "密码",
    sign_in_intro: "请使用 BeatGrid 账户登录。",
    signed_in_as: "{name} · {role}", local_user: "本机（单用户）",
    role_viewer: "查看者", role_analyst: "分析员", role_planner: "规划员", role_admin: "管理员",
    read_only_role: "只读：{role}不能编辑方案（需规划员角色）。",
    read_only_status: "只读：该方案为{status}状态。请新建草稿后再编辑。",
    status_draft: "草稿", status_published: "已发布", status_archived: "已归档",
    tools: "工具", mode_paint: "涂刷", mode_erase: "擦除", mode_pan: "平移地图",
    brush: "笔刷", brush_px: "{n} 像素",
    only_unassigned: "只涂未分配的单元",
    erase_into: "擦除后归入", painting_into: "涂入网格", no_grid: "— 选择网格 —",
    lock: "锁定", unlock: "解锁", locked: "已锁定",
    add_grid: "新增网格", remove_grid: "删除网格", rebalance: "自动平衡",
    undo: "撤销", redo: "重做", history: "历史",
    saved: "草稿已保存 · 第 {step} 步，共 {last} 步",
    saved_published: "已发布方案 · 第 {step} 步",
    saved_hint: "每次修改都立即保存为草稿的一步（撤销可逐步回退），无需手动保存。",
    saving: "保存中…",
    totals: "网格", grid: "网格", code: "编码", households: "户数", units: "单元",
    status: "状态", in_band: "达标", below: "低于 {lo}（少 {n} 户）", above: "超过 {hi}（多 {n} 户）",
    empty_grid: "空", unassigned: "未分配", unassigned_row: "{units} 个单元 · {hh} 户",
    band_note: "基础网格应含 {lo}–{hi} 户。",
    rules: "违反的规则", no_rules: "所有网格均符合规则。",
    n_rules: "{n} 条规则未满足",
    compare: "与已发布方案比较", publish: "发布", export: "导出",
    export_geojson: "GeoJSON", export_csv: "分配表 CSV", import_csv: "导入 CSV",
    help: "快捷键", close: "关闭", cancel: "取消", ok: "确定",
    find_grid: "查找网格",
    loading: "加载中…", loading_plan: "正在加载方案 {id}…",
    pick_prompt: "请选择派出所和社区，再选择方案或“新建草稿”。",
    no_draft: "社区 {c} 还没有草稿：请点击“新建草稿”。",
    locked_target: "网格 {grid} 已锁定：解锁后才能涂入。",
    skipped_locked: "{n} 个位于已锁定网格的单元保持不变。",
    nothing_moved: "笔刷下没有可移动的单元。",
    stale: "其他用户修改了该方案：已重新加载为当前版本（版本 {v}）。",
    moved: "{n} 个单元（{hh} 户）已归入 {grid}。",
    moved_building: "楼栋 {b} 及其所在单元已归入 {grid}。",
    pick_grid_first: "请先选择要涂入的网格（点击网格列表中的一行）。",
    erase_pick: "擦除会把所选网格中的单元移入“擦除后归入”的网格：请两者都选择。",
    no_published: "社区 {c} 还没有已发布方案：请先发布一个草稿。",
    published_msg: "方案 {id} 已发布：其网格已成为项目的网格图层。",
    confirm_publish: "发布方案 {id}？其网格将替换 {c} 已发布的网格。",
    confirm_remove: "删除网格 {grid}？其单元将变为未分配。",
    confirm_rebalance: "自动平衡：少量调整户数，使所有网格符合规则（已锁定网格不变）？",
    rebalanced: "已自动平衡：违反规则的网格已修复。",
    grid_added: "已新增网格 {grid}：请将单元涂入。",
    grid_removed: "网格 {grid} 已删除：其单元变为未分配。",
    locked_msg: "网格 {grid} 已锁定。", unlocked_msg: "网格 {grid} 已解锁。",
    undone: "已回到第 {step} 步。", redone: "已前进到第 {step} 步。",
    imported: "已导入为新草稿：方案 {id}。",
    created: "已新建草稿：方案 {id}。",
    compare_title: "草稿（方案 {a}）与已发布方案 {b}",
    moved_summary: "{hh} 户（{b} 栋楼）更换网格。",
    changed: "有变化", draft: "草稿", published_col: "已发布",
    diff_units: "网格不同的单元以粗线标出",
    error: "错误", fix: "解决办法",
    denied: "被拒绝：{msg}",
    shortcuts: [
      ["B", "涂刷"], ["E", "擦除"], ["V 或按住空格", "平移地图"],
      ["[ 和 ]", "缩小 / 放大笔刷"], ["U", "只涂未分配单元"],
      ["N / P", "下一个 / 上一个网格"], ["L", "锁定或解锁网格"],
      ["A", "新增网格"], ["R", "自动平衡"], ["C", "摄像头"], ["Ctrl+Z", "撤销"],
      ["Ctrl+Y 或 Ctrl+Shift+Z", "重做"], ["Esc", "取消本笔、关闭"],
      ["?", "本列表"],
    ],
    click_hint: "拖动即涂刷；单击则移动指针下的单元（或楼栋所在单元）。",
    cameras: "摄像头", camera_add: "新增摄像头", camera_save: "保存", camera_delete: "删除",
    camera_propose: "推荐摄像头", direction: "朝向", fov: "视角", range: "距离",
    dome: "球机（360°）", estate_seen: "小区 {estate}：公共空间可见 {share}",
    outside_estates: "不在小区内",
    camera_saved: "摄像头 {id} 已保存；覆盖率由服务重新计算。",
    confirm_camera_delete: "删除摄像头 {id}？",
    propose_pick: "请选中某小区内的摄像头，或将地图中心移到该小区，再推荐摄像头。",
    proposed: "已为小区 {estate} 推荐 {n} 个摄像头。", accept: "采纳", reject: "不采纳",
    proposal_effect: "全部采纳后：小区公共空间可见比例 {before}% → {after}%。",
    camera_hint: "新增：点击“新增摄像头”后在地图上单击。拖动摄像头可移动；滑块可调整朝向、视角和距离。保存后覆盖率随之更新。",
    kinds: {
      households_below_min: "户数过少", households_above_max: "户数过多",
      multipart: "不连片", outside_community: "超出社区",
      enclave: "被其他网格包围", hole: "有空洞", building_cut: "切断楼栋",
    },
  },
};

let current = "en";

export function setLang(lang) { current = LABELS[lang] ? lang : "en"; return current; }
export function lang() { return current; }

/** The label ``key`` of the current language with ``{name}`` replaced by ``vars.name``. */
export function t(key, vars) {
  const table = LABELS[current];
  let text = key in table ? table[key] : (key in LABELS.en ? LABELS.en[key] : key);
  if (typeof text !== "string") return text;
  if (vars) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? fmt(vars[k]) : m));
  return text;
}

/** A number with the language's digit grouping. */
export function fmt(value) {
  if (typeof value !== "number") return String(value);
  // one formatter per language (toLocaleString makes a new one at every call: slow
  // for the 1,700 rows of a large community's totals)
  let f = FORMATS.get(current);
  if (!f) { f = new Intl.NumberFormat(current === "zh" ? "zh-CN" : "en"); FORMATS.set(current, f); }
  return f.format(value);
}
const FORMATS = new Map();

/** A broken rule in words: the service's English message, or the Chinese rebuilt. */
export function ruleText(v, households, band) {
  if (current !== "zh") return v.message;
  const m = v.message || "";
  const num = (re) => { const x = m.match(re); return x ? x[1] : "?"; };
  switch (v.kind) {
    case "households_below_min":
      return `${fmt(households)} 户，比下限 ${band.lo} 少 ${fmt(band.lo - households)} 户`;
    case "households_above_max":
      return `${fmt(households)} 户，比上限 ${band.hi} 多 ${fmt(households - band.hi)} 户`;
    case "multipart": return `网格分成 ${num(/(\d+) pieces/)} 块，不连片`;
    case "outside_community": return `网格包含其他社区的单元：${num(/community (.+)$/)}`;
    case "enclave": return `网格位于网格 ${num(/inside grid (\S+)/)} 内部`;
    case "hole": return `网格 ${num(/grid (\S+) lies inside/)} 位于本网格内部`;
    default: return m;
  }
}

/** The kind of a broken rule in a few words. */
export function kindText(kind) {
  const kinds = LABELS[current].kinds;
  return kinds[kind] || kind.replace(/_/g, " ");
}
