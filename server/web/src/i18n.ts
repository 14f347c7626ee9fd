// UI strings in Chinese (the default) and English. The choice is kept in
// localStorage; times are shown in the viewer's own time zone.
const zh = {
  appName: "售后服务控制台",
  signIn: "登录",
  signOut: "退出",
  apiKey: "API 密钥",
  apiKeyHint: "粘贴您的 API 密钥（ask_…）。它只保存在本标签页的会话中。",
  badKey: "密钥无效、已吊销或已过期。",
  queue: "工作队列",
  dashboard: "服务质量",
  faults: "故障统计",
  language: "语言",
  state: "状态",
  priority: "优先级",
  all: "全部",
  open: "未结",
  title: "标题",
  assignee: "处理人",
  partner: "服务网点",
  customer: "客户",
  product: "产品",
  type: "类型",
  channel: "渠道",
  created: "创建时间",
  resolveDue: "解决时限",
  responseDue: "响应时限",
  dueIn: "剩余",
  overdue: "已超时",
  breached: "已违约",
  escalation: "升级级别",
  loading: "加载中…",
  loadMore: "加载更多",
  end: "没有更多工单",
  none: "没有符合条件的工单",
  sortedNote: "已加载的工单按解决时限排序",
  timeline: "时间线",
  actions: "操作",
  accept: "接单",
  start: "开始处理",
  pause: "暂停",
  resume: "恢复",
  resolve: "解决",
  close: "关闭",
  faultCategory: "故障类别",
  faultCode: "故障代码",
  summary: "处理说明",
  submit: "提交",
  back: "返回队列",
  resolution: "处理结果",
  days: "天",
  window: "时间范围",
  ticketsOpened: "新建工单",
  ticketsResolved: "已解决工单",
  csat: "满意度（1–5）",
  fcr: "首次接触解决率",
  sla: "按时响应与解决率",
  responseTime: "平均首次响应时间",
  resolutionTime: "平均解决时间",
  complaintsOnTime: "投诉按时解决率",
  trend: "每日趋势",
  dataTime: "数据截至",
  drillDown: "点击柱形查看当天新建的工单",
  count: "数量",
  cumulative: "累计占比",
  exportCsv: "导出 CSV",
  model: "型号",
  error: "出错了",
  noAccess: "您的密钥无权查看此页。",
  "state.NEW": "新建",
  "state.ASSIGNED": "已派单",
  "state.ACCEPTED": "已接单",
  "state.IN_PROGRESS": "处理中",
  "state.PAUSED": "已暂停",
  "state.RESOLVED": "已解决",
  "state.CLOSED": "已关闭",
  "state.REOPENED": "已重开",
  "state.CANCELLED": "已取消",
  "priority.LOW": "低",
  "priority.NORMAL": "普通",
  "priority.HIGH": "高",
  "priority.URGENT": "紧急",
};

export type Key = keyof typeof zh;

const en: Record<Key, string> = {
  appName: "Aftersales console",
  signIn: "Sign in",
  signOut: "Sign out",
  apiKey: "API key",
  apiKeyHint: "Paste your API key (ask_…). It is kept in this tab's session only.",
  badKey: "The key is unknown, revoked or expired.",
  queue: "Work queue",
  dashboard: "Service quality",
  faults: "Fault statistics",
  language: "Language",
  state: "State",
  priority: "Priority",
  all: "All",
  open: "Open",
  title: "Title",
  assignee: "Assignee",
  partner: "Partner shop",
  customer: "Customer",
  product: "Product",
  type: "Type",
  channel: "Channel",
  created: "Created",
  resolveDue: "Resolve by",
  responseDue: "Respond by",
  dueIn: "Due in",
  overdue: "Overdue",
  breached: "Breached",
  escalation: "Escalation level",
  loading: "Loading…",
  loadMore: "Load more",
  end: "No more tickets",
  none: "No tickets match",
  sortedNote: "Loaded tickets sorted by resolve-by time",
  timeline: "Timeline",
  actions: "Actions",
  accept: "Accept",
  start: "Start work",
  pause: "Pause",
  resume: "Resume",
  resolve: "Resolve",
  close: "Close",
  faultCategory: "Fault category",
  faultCode: "Fault code",
  summary: "Resolution summary",
  submit: "Submit",
  back: "Back to the queue",
  resolution: "Resolution",
  days: "days",
  window: "Window",
  ticketsOpened: "Tickets opened",
  ticketsResolved: "Tickets resolved",
  csat: "Satisfaction (1–5)",
  fcr: "First-contact resolution",
  sla: "On-time response & resolution",
  responseTime: "Mean time to first response",
  resolutionTime: "Mean time to resolution",
  complaintsOnTime: "Complaints resolved on time",
  trend: "Daily trend",
  dataTime: "Data as of",
  drillDown: "Click a bar for the tickets opened that day",
  count: "Count",
  cumulative: "Cumulative share",
  exportCsv: "Export CSV",
  model: "Model",
  error: "Something went wrong",
  noAccess: "Your key may not see this page.",
  "state.NEW": "New",
  "state.ASSIGNED": "Assigned",
  "state.ACCEPTED": "Accepted",
  "state.IN_PROGRESS": "In progress",
  "state.PAUSED": "Paused",
  "state.RESOLVED": "Resolved",
  "state.CLOSED": "Closed",
  "state.REOPENED": "Reopened",
  "state.CANCELLED": "Cancelled",
  "priority.LOW": "Low",
  "priority.NORMAL": "Normal",
  "priority.HIGH": "High",
  "priority.URGENT": "Urgent",
};

export type Lang = "zh-CN" | "en";
const dicts: Record<Lang, Record<Key, string>> = { "zh-CN": zh, en };

let lang: Lang = localStorage.getItem("aftersales.lang") === "en" ? "en" : "zh-CN";

export const getLang = () => lang;
export function setLang(l: Lang) {
  lang = l;
  localStorage.setItem("aftersales.lang", l);
  document.documentElement.lang = l;
}
document.documentElement.lang = lang;

/** The UI string for key k; unknown dynamic keys (an enum value) fall back to their last part. */
export function t(k: Key | string): string {
  return (dicts[lang] as Record<string, string>)[k] ?? k.split(".").pop()!;
}

/** A date and time in the viewer's zone. */
export function fmtTime(iso?: string): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

export function fmtDay(d: Date): string {
  return new Intl.DateTimeFormat(lang, { month: "short", day: "numeric", timeZone: "UTC" }).format(d);
}

/** A duration in seconds as "2 d 3 h", "3 h 12 min" or "45 min". */
export function fmtDuration(secs: number): string {
  const s = Math.abs(secs);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const [D, H, M] = lang === "en" ? ["d", "h", "min"] : ["天", "小时", "分"];
  if (d) return `${d} ${D} ${h} ${H}`;
  if (h) return `${h} ${H} ${m} ${M}`;
  return `${m} ${M}`;
}
