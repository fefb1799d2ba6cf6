/// Comment and review texts, in Chinese and English, by tone and problem type, varied as
/// real ones are, so that text themes and sentiment have something real to find. Which
/// text a comment gets costs the generator one draw whatever the list's length, so the
/// lists can grow without moving any other figure of the demo.
enum DemoText {
  static let negative: [String: [String]] = [
    "billing": [
      "账单金额不对，扣费两次", "billing error, I was charged twice", "发票一直开不出来", "上个月的账单多扣了五十块，客服说要核实",
      "charged twice for the same order and still no correction", "自动续费没有提醒就扣钱了", "the invoice shows the wrong company name",
      "billing error again this month, second time this year",
    ],
    "delivery": [
      "物流太慢了，等了一周还没到", "delivery was late again and nobody called", "快递员态度很差", "物流信息三天没有更新",
      "the parcel arrived damaged and the box was open", "delivery was late and the tracking never updated", "送货上门变成了放驿站，也没通知",
      "courier left the package at the wrong address",
    ],
    "product_defect": [
      "设备用了三天就坏了", "the device stopped working after a week", "屏幕有质量问题", "充电器发热严重，不敢用",
      "the screen flickers and the device restarts by itself", "刚开箱就有划痕，质量太差", "the battery drains in two hours",
      "device stopped working after the last update",
    ],
    "account": [
      "账号被锁，客服半天不回复", "could not log in and support never answered", "密码重置收不到验证码", "换了手机号以后账号登录不了",
      "password reset email never arrives", "account locked after one wrong password", "实名认证一直审核不通过",
      "could not log in for three days, lost my orders",
    ],
    "installation": [
      "安装师傅迟到两个小时", "installation appointment was missed twice", "安装完还是不能用", "预约安装改了三次时间",
      "the technician did not bring the right parts", "安装师傅没带配件，白跑一趟", "installation appointment was rescheduled without asking",
      "wall mount installed crooked, had to redo it",
    ],
    "refund": [
      "退款申请十天没有处理", "still waiting for my refund after two weeks", "退款流程太复杂", "退款到账比说的晚了一周",
      "refund request rejected with no reason", "客服答应退款，结果没有下文", "still waiting for my refund, nobody replies",
      "refund went to an old card that is closed",
    ],
  ]
  /// What VIP customers say as their satisfaction sours over the demo's last weeks: the
  /// theme the demo plants in the VIP segment (docs/demo.md).
  static let vipSouring: [String] = [
    "专属客服经理联系不上，VIP服务形同虚设", "my dedicated account manager never calls back", "专属客服经理换了三次，每次都要重新解释",
    "dedicated account manager ignored my emails for a week", "作为VIP，专属客服经理一直不回消息",
    "no reply from my dedicated account manager, not what I pay for",
  ]
  static let positive: [String] = [
    "客服回复很快，问题解决了", "fast reply and the problem was solved", "服务态度很好，非常满意", "the agent was patient and helpful",
    "处理及时，点赞", "quick and friendly support, thanks", "师傅很专业，安装得很好", "refund arrived the next day, great service",
    "一次就解决了，不用来回沟通", "clear answer on the first call",
  ]
  static let neutral: [String] = [
    "还可以吧", "it was ok", "一般般，希望改进", "average experience", "问题解决了，就是等得有点久", "fine, nothing special",
  ]

  /// Every sixth review asks for a call back and gives a phone number, as real ones do,
  /// so that the demo shows redaction at work (the tenant's default policy masks it:
  /// `[手机号]`, `[PHONE]`). Derived from the ticket number, not drawn from the generator,
  /// so every other figure of the demo stays the same.
  static func withContact(_ text: String, ticket: Int) -> String {
    guard ticket % 6 == 0 else { return text }
    let number = String((ticket &* 7_919) % 100_000_000)
    let digits = String(repeating: "0", count: 8 - number.count) + number
    let chinese = text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
    return chinese
      ? text + "，请回电139" + digits
      : text + ", call me back on +86 139 " + digits.prefix(4) + " " + digits.suffix(4)
  }
}
