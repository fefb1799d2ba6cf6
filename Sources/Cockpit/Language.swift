import Foundation
import SightlineModel

/// The cockpit's languages: English and Simplified Chinese, with the terms Chinese service
/// management uses for the KPIs (首次响应时长, 首次联系解决率, 投诉闭环率, …).
enum Language: String, Sendable, CaseIterable {
  case en
  case zh

  /// The language a browser asks for in `Accept-Language` (zh, zh-CN, zh-Hans… → zh;
  /// anything else, or nothing, → en), honouring q-values.
  static func preferred(acceptLanguage header: String?) -> Language {
    guard let header else { return .en }
    var best: (Language, Double)?
    for part in header.split(separator: ",") {
      let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
      guard let tag = pieces.first?.lowercased(), !tag.isEmpty else { continue }
      let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
      let language: Language? = tag.hasPrefix("zh") ? .zh : tag.hasPrefix("en") ? .en : nil
      if let language, q > (best?.1 ?? 0) { best = (language, q) }
    }
    return best?.0 ?? .en
  }

  /// The BCP 47 tag for `<html lang>`.
  var tag: String { self == .zh ? "zh-Hans" : "en" }

  /// The label `key` in this language (the key itself if it has none, which a test forbids).
  func text(_ key: String) -> String {
    guard let entry = Self.texts[key] else { return key }
    return self == .zh ? entry.zh : entry.en
  }

  /// A KPI's name.
  func kpi(_ kind: KpiKind) -> String { text("kpi." + kind.rawValue) }

  /// A dimension's name.
  func dimension(_ dimension: KpiDimension) -> String { text("dimension." + dimension.rawValue) }

  static let texts: [String: (en: String, zh: String)] = [
    "app.title": ("Sightline cockpit", "Sightline 服务驾驶舱"),
    "nav.overview": ("Overview", "总览"),
    "nav.explore": ("KPI explorer", "指标分析"),
    "nav.segments": ("Segments", "客户分群"),
    "nav.voice": ("Voice of the customer", "客户之声"),
    "nav.workload": ("Workload", "工作量与排班"),
    "nav.experiments": ("Experiments", "实验评估"),
    "nav.keys": ("Keys (admin)", "密钥管理"),
    "nav.signout": ("Sign out", "退出"),
    "nav.language": ("中文", "English"),
    "signin.title": ("Sign in", "登录"),
    "signin.key": ("API key (reader, writer or admin)", "API 密钥（只读、写入或管理员）"),
    "signin.submit": ("Sign in", "登录"),
    "signin.failed": ("That key was not accepted.", "该密钥无效。"),
    "signin.expired": ("The form expired; please try again.", "表单已过期，请重试。"),
    "signin.operator": ("The operator key administers tenants; sign in with a tenant's key.", "运维密钥只能管理租户，请使用租户密钥登录。"),
    "period": ("Period", "统计周期"),
    "period.days": ("last %d days", "最近 %d 天"),
    "period.vs": ("vs the %d days before", "对比前 %d 天"),
    "hours": ("Durations", "时长口径"),
    "hours.calendar": ("calendar time", "自然时间"),
    "hours.business": ("business hours", "工作时间"),
    "hours.calendar.label": ("(calendar time)", "（自然时间）"),
    "hours.business.label": ("(business hours)", "（工作时间）"),
    "updated": ("Updated", "更新于"),
    "zone.note": ("Dates and times in %@.", "日期和时间均按 %@ 时区。"),
    "live": ("Live: refreshes when new data or alerts arrive.", "实时：有新数据或告警时自动刷新。"),
    "alerts.title": ("Open alerts", "未关闭告警"),
    "alerts.none": ("No open alerts.", "暂无告警。"),
    "alerts.why": ("Moved by (against a week before)", "主要贡献（对比一周前）"),
    "alerts.staffing_gap": ("Staffing gap", "排班缺口"),
    "alerts.staffing_gap.detail": (
      "from %@ for %@ h: %@ agents short (rule: %@ or more)", "自 %@ 起 %@ 小时：缺 %@ 名坐席（规则：%@ 名及以上）"
    ),
    "alerts.critical": ("Critical", "严重"),
    "alerts.warning": ("Warning", "警告"),
    "headline.title": ("Headline KPIs", "核心指标"),
    "headline.previous": ("before", "上期"),
    "headline.sample": ("n", "样本"),
    "status.green": ("on target", "达标"),
    "status.amber": ("near target", "接近目标"),
    "status.red": ("off target", "未达标"),
    "status.none": ("no data", "无数据"),
    "target": ("target", "目标"),
    "unit.points": (" pts", " 个百分点"),
    "unit.scorePoints": (" pts", " 分"),
    "trend.title": ("Daily trend", "每日趋势"),
    "lines.title": ("By business line", "按业务线"),
    "unavailable": ("Unavailable", "暂不可用"),
    "nodata": ("No data in this period.", "本周期无数据。"),
    "explore.title": ("KPI explorer", "指标分析"),
    "explore.kpi": ("KPI", "指标"),
    "explore.by": ("Group by", "分组维度"),
    "explore.none": ("(none)", "（不分组）"),
    "explore.interval": ("Interval", "时间粒度"),
    "explore.from": ("From", "开始"),
    "explore.to": ("To", "结束"),
    "explore.show": ("Show", "查询"),
    "explore.csv": ("Download CSV", "下载 CSV"),
    "explore.bucket": ("Period start", "周期开始"),
    "explore.group": ("Group", "分组"),
    "explore.pivot": ("Show one column per group", "按分组分列显示"),
    "explore.long": ("Show one row per value", "逐行显示每个值"),
    "explore.pivot.caption": ("one column per group, n below each value", "每个分组一列，数值下方为样本量"),
    "chart.partial": ("partial period", "不完整周期"),
    "chart.others": ("others, in grey", "其他（灰色）"),
    "chart.today": ("today, still going", "今天（尚未结束）"),
    "explore.value": ("Value", "数值"),
    "explore.sample": ("Sample size", "样本量"),
    "interval.day": ("day", "日"),
    "interval.week": ("week", "周"),
    "interval.month": ("month", "月"),
    "interval.all": ("whole range", "整个区间"),
    "segments.title": ("Segment scorecards", "分群计分卡"),
    "segments.members": ("members", "客户数"),
    "segments.figure": ("Figure", "指标"),
    "segments.now": ("This period", "本期"),
    "segments.before": ("Previous period", "上期"),
    "atrisk.title": ("At-risk customers: call back first", "流失风险客户：优先回访"),
    "atrisk.customer": ("Customer", "客户"),
    "atrisk.score": ("Risk score", "风险分"),
    "atrisk.reasons": ("Why", "原因"),
    "workload.title": ("Workload and staffing", "工作量与排班"),
    "workload.kpi": ("Metric", "指标"),
    "workload.weeks": ("Weeks", "周数"),
    "workload.weeks.n": ("last %@ weeks", "最近 %@ 周"),
    "workload.roster": ("Roster (CSV: weekday,hour,agents)", "排班表（CSV：weekday,hour,agents）"),
    "workload.heatmap": ("%@ by weekday and hour", "%@：按星期与小时"),
    "workload.heatmap.label": ("Heatmap: weekdays down, hours across; darker is more", "热力图：纵向为星期，横向为小时，颜色越深数值越大"),
    "workload.need": ("Agents needed by weekday and hour", "各时段所需坐席数"),
    "workload.missing": (
      "No handle time for %@: their staffing cannot be computed (sightline workload handle-time).",
      "以下渠道没有处理时长：%@，无法计算其排班（sightline workload handle-time）。"
    ),
    "workload.roster.none": (
      "Paste a roster above (or store one: sightline workload roster FILE) to see the hours it leaves short, and how service looks in them.",
      "在上方粘贴排班表（或保存一份：sightline workload roster FILE），即可查看人手不足的时段及其服务表现。"
    ),
    "workload.roster.stored": (
      "Compared with the tenant's stored roster; paste another above to try it.",
      "对照的是租户已保存的排班表；可在上方粘贴另一份试算。"
    ),
    "workload.roster.bad": ("The roster cannot be read", "排班表无法读取"),
    "workload.covered": ("The roster covers every hour.", "排班覆盖了所有时段。"),
    "workload.understaffed": ("Understaffed hours against the roster", "排班人手不足的时段"),
    "workload.when": ("When", "时段"),
    "workload.short": ("Short by (agents)", "缺少坐席"),
    "workload.service": ("Service there against the other hours", "该时段与其他时段的服务对比"),
    "workload.versus": ("%@ %@ vs %@ elsewhere (%@)", "%@ %@，其他时段 %@（%@）"),
    "workload.forecast": ("Arrivals forecast, next 14 days", "未来 14 天来单预测"),
    "workload.backtest": (
      "Backtest over the last 4 weeks: WAPE %@ against %@ for the same hour a week earlier; the 80 % interval held %@ of the hours.",
      "最近 4 周回测：WAPE %@，上周同时段预测为 %@；80% 区间覆盖了 %@ 的小时。"
    ),
    "workload.day": ("Day", "日期"),
    "workload.expected": ("Expected tickets", "预计工单"),
    "workload.bounds": ("Hourly 80 % bounds, summed", "每小时 80% 区间之和"),
    "voice.title": ("Voice of the customer", "客户之声"),
    "voice.themes": ("Top negative themes", "主要负面主题"),
    "voice.term": ("Theme", "主题"),
    "voice.count": ("Texts", "条数"),
    "voice.mix": ("Sentiment: negative · neutral · positive", "情感：负面 · 中性 · 正面"),
    "voice.negative": ("Negative", "负面"),
    "voice.positive": ("Positive", "正面"),
    "voice.examples": ("Example comments", "示例评论"),
    "voice.trend": ("Weekly sentiment: shares of negative and positive texts", "每周情感：负面与正面文本占比"),
    "voice.neutral": ("Neutral", "中性"),
    "voice.segment": ("Customers", "客户"),
    "voice.everyone": ("Everyone", "全部客户"),
    "voice.analysed": ("Texts analysed", "分析文本数"),
    "voice.before": ("in the period before", "上一周期"),
    "voice.share": ("Share of texts", "文本占比"),
    "voice.previous": ("Period before", "上一周期"),
    "voice.related": ("Also said", "相关说法"),
    "voice.emerging": ("Emerging themes", "新兴主题"),
    "voice.emerging.note": (
      "Themes whose share of texts rose most against the period before; p from a two-proportion z-test, q adjusted for the themes tested (bold: q < 0.05).",
      "与上一周期相比文本占比上升最多的主题；p 值来自两比例 z 检验，q 值按所检验主题数校正（加粗：q < 0.05）。"
    ),
    "voice.rise": ("Rise", "上升"),
    "voice.drill": ("Theme", "主题"),
    "voice.texts": ("Texts of the theme, newest first", "该主题的文本（最新在前）"),
    "voice.when": ("Written", "时间"),
    "voice.sentiment": ("Sentiment", "情感"),
    "voice.text": ("Text", "文本"),
    "voice.of": ("Texts with this value", "该取值的文本数"),
    "voice.splitby": ("Split by", "拆分维度"),
    "voice.split.business_line": ("Business line", "业务线"),
    "voice.split.product_module": ("Product module", "产品模块"),
    "voice.split.problem_type": ("Problem type", "问题类型"),
    "voice.split.channel": ("Channel", "渠道"),
    "voice.split.region": ("Region", "地区"),
    "voice.split.tier": ("Customer tier", "客户等级"),
    "experiments.title": ("Experiments", "实验评估"),
    "experiments.arms": ("treated and control over time", "实验组与对照组随时间的变化"),
    "experiments.arms.none": ("No picture of the arms", "无法绘制分组走势"),
    "experiments.treated": ("Treated", "实验组"),
    "experiments.control": ("Control", "对照组"),
    "experiments.rollout": ("Rollout", "上线"),
    "experiments.balance.alike": ("Before the rollout the arms were alike", "上线前两组无显著差异"),
    "experiments.balance.differed": ("Before the rollout the arms differed: read the effect with care", "上线前两组已有差异，解读效果需谨慎"),
    "experiments.none": ("No experiments defined.", "暂无实验。"),
    "experiments.verdict": ("Verdict", "结论"),
    "experiments.metric": ("Metric", "指标"),
    "experiments.effect": ("Effect", "效应"),
    "experiments.ci": ("95% interval the verdict rests on", "结论所依据的 95% 区间"),
    "experiments.p": ("p the verdict rests on", "结论所依据的 p 值"),
    "experiments.fixed": ("Fixed-horizon 95% CI, p (Holm): detail", "固定样本 95% 置信区间、p 值（Holm）：仅供参考"),
    "experiments.basis.always_valid": ("always-valid", "随时有效"),
    "experiments.basis.fixed_horizon": ("fixed-horizon", "固定样本"),
    "experiments.basis.multiplicity_adjusted": ("Holm-adjusted", "Holm 校正"),
    "experiments.warnings": ("Warnings", "提示"),
    "experiments.forest": ("Relative effects with the intervals the verdicts rest on", "相对效应及结论所依据的区间"),
    "experiments.running": ("running: verdicts rest on always-valid intervals", "进行中：结论使用随时有效区间"),
    "experiments.guardrail": ("guardrail", "护栏指标"),
    "verdict.better": ("better", "更好"),
    "verdict.worse": ("worse", "更差"),
    "verdict.inconclusive": ("inconclusive", "无显著差异"),
    "verdict.unspecified": ("not evaluated", "未评估"),
    "keys.title": ("API keys of this tenant", "本租户的 API 密钥"),
    "keys.id": ("Key", "密钥"),
    "keys.role": ("Role", "角色"),
    "keys.label": ("Label", "标签"),
    "keys.created": ("Created", "创建时间"),
    "keys.revoked": ("Revoked", "已吊销"),
    "forbidden.title": ("Not allowed", "无权访问"),
    "forbidden.text": ("This page needs an admin key.", "此页面需要管理员密钥。"),
    "notfound.title": ("Not found", "页面不存在"),
    "error.title": ("Something went wrong", "出错了"),
    "chart.days": ("day", "日期"),
    "why.link": ("Why did it move?", "为何变化？"),
    "why.title": ("Why did %@ move?", "%@ 为何变化？"),
    "why.range": ("%@ against %@ (UTC, end exclusive)", "%@ 对比 %@（UTC，不含结束日）"),
    "why.nodata": ("Not enough data on both sides of the comparison to explain a change.", "对比的两个周期数据不足，无法解释变化。"),
    "why.moved": ("%@ moved from %@ to %@ (%@).", "%@ 从 %@ 变为 %@（%@）。"),
    "why.by": ("Contributions by %@", "按%@拆解"),
    "why.drill": ("By %@ within %@ = %@", "%@ 拆解（%@ = %@ 内）"),
    "why.dimensions": ("Every dimension, best explanation first", "各维度（解释力从高到低）"),
    "why.dimension": ("Dimension", "维度"),
    "why.top": ("Largest contributors", "主要贡献项"),
    "why.explains": ("Share of the change they explain", "解释变化的比例"),
    "why.rest": ("%d more", "其余 %d 项"),
    "why.waterfall": ("How the segments add up to the change of %@", "%@ 的变化由各分组贡献累加而成"),
    "why.waterfall.desc": (
      "From %@ before to %@ now: each bar is a segment's rate effect then its mix effect.", "从上期 %@ 到本期 %@：每个条形依次为该分组的自身变化（率效应）与占比变化（结构效应）。"
    ),
    "why.before": ("Before", "上期"),
    "why.now": ("Now", "本期"),
    "why.shareBefore": ("Share before", "上期占比"),
    "why.shareNow": ("Share now", "本期占比"),
    "why.rate": ("Rate effect (the segment itself)", "率效应（分组自身变化）"),
    "why.mix": ("Mix effect (its share)", "结构效应（占比变化）"),
    "why.effect": ("Effect", "合计贡献"),
    "why.simpson": (
      "Simpson's paradox: the total moved one way while most segments moved the other. The mix of tickets shifted.",
      "辛普森悖论：总体与多数分组的变化方向相反，是工单结构发生了变化。"
    ),
    "kpi.volume": ("Tickets", "工单量"),
    "kpi.first_response_time": ("First response time", "首次响应时长"),
    "kpi.resolution_time": ("Resolution time", "解决时长"),
    "kpi.unanswered": ("Unanswered tickets", "未响应工单"),
    "kpi.fcr_rate": ("First contact resolution", "首次联系解决率"),
    "kpi.reopen_rate": ("Reopen rate", "工单重开率"),
    "kpi.sla_first_response": ("First-response SLA met", "首响 SLA 达成率"),
    "kpi.sla_resolution": ("Resolution SLA met", "解决 SLA 达成率"),
    "kpi.csat": ("CSAT", "客户满意度"),
    "kpi.nps": ("NPS", "净推荐值"),
    "kpi.ces": ("Customer effort (CES)", "客户费力度"),
    "kpi.complaint_rate": ("Complaint rate", "投诉率"),
    "kpi.complaint_closure_rate": ("Complaint closure rate", "投诉闭环率"),
    "kpi.repeat_contact_rate": ("Repeat contact rate", "重复来电率"),
    "kpi.backlog": ("Backlog", "积压工单"),
    "dimension.channel": ("Channel", "渠道"),
    "dimension.region": ("Region", "区域"),
    "dimension.business_line": ("Business line", "业务线"),
    "dimension.agent": ("Agent", "客服"),
    "dimension.product_module": ("Product module", "产品模块"),
    "dimension.problem_type": ("Problem type", "问题类型"),
    "dimension.priority": ("Priority", "优先级"),
    "dimension.customer_tier": ("Customer tier", "客户等级"),
    "dimension.customer_type": ("Customer type", "客户类型"),
    "dimension.customer": ("Customer", "客户"),
    "dimension.weekday": ("Weekday", "星期"),
    "dimension.hour_of_day": ("Hour of day", "小时"),
  ]
}
