/// Comment and review phrases, in Chinese and English, by tone and problem type, so that
/// text themes and sentiment have something real to find.
enum DemoText {
  static let negative: [String: [String]] = [
    "billing": ["账单金额不对，扣费两次", "billing error, I was charged twice", "发票一直开不出来"],
    "delivery": ["物流太慢了，等了一周还没到", "delivery was late again and nobody called", "快递员态度很差"],
    "product_defect": ["设备用了三天就坏了", "the device stopped working after a week", "屏幕有质量问题"],
    "account": ["账号被锁，客服半天不回复", "could not log in and support never answered", "密码重置收不到验证码"],
    "installation": ["安装师傅迟到两个小时", "installation appointment was missed twice", "安装完还是不能用"],
    "refund": ["退款申请十天没有处理", "still waiting for my refund after two weeks", "退款流程太复杂"],
  ]
  static let positive: [String] = [
    "客服回复很快，问题解决了", "fast reply and the problem was solved", "服务态度很好，非常满意",
    "the agent was patient and helpful", "处理及时，点赞", "quick and friendly support, thanks",
  ]
  static let neutral: [String] = ["还可以吧", "it was ok", "一般般，希望改进", "average experience"]

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
