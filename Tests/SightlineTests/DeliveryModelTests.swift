import Foundation
import SightlineModel
import Testing

@testable import MetricsService

/// Delivery's parts worked by hand or against references (issue 24): signatures against the
/// Standard Webhooks specification's example and Python's hmac
/// (Fixtures/delivery/signatures.py), the retry schedule, the rate limit's digest, endpoint
/// checks that name the field, receivers' answers, messages in both languages.
@Suite struct DeliveryModelTests {
  @Test func webhookSignatureMatchesTheSpecificationsExample() {
    let signature = DeliverySigning.webhookSignature(
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestampSeconds: 1_614_265_330,
      body: Array(#"{"test": 2432232314}"#.utf8))
    #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    #expect(DeliverySigning.webhookSignature(secret: "whsec_short", id: "x", timestampSeconds: 1, body: []) == nil)
  }

  @Test func dingTalkSignMatchesPython() {
    let sign = DeliverySigning.dingTalkSign(secret: "SEC0123456789abcdefSightline", timestampMs: 1_764_849_600_000)
    #expect(sign == "vL%2BtJo%2BQNA0%2B86uZaaG7iQH4PA1pWKqTCv%2BAAqY184s%3D")
    let url = DeliverySigning.dingTalkURL(
      "https://oapi.dingtalk.com/robot/send?access_token=t", secret: "SEC0123456789abcdefSightline", timestampMs: 1_764_849_600_000)
    #expect(url == "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1764849600000&sign=\(sign)")
  }

  @Test func retriesBackOffWithJitterAndStopAtTheDeadline() {
    let policy = RetryPolicy(firstDelayMs: 5_000, maxDelayMs: 7_200_000, maxAgeMs: 3 * 86_400_000)
    // 5 s, 10 s, 20 s, … doubling, capped at 2 h.
    #expect((1...6).map { policy.delayMs(afterAttempts: $0) } == [5_000, 10_000, 20_000, 40_000, 80_000, 160_000])
    #expect(policy.delayMs(afterAttempts: 20) == 7_200_000)
    #expect(policy.delayMs(afterAttempts: 500) == 7_200_000)
    // Equal jitter: between half the delay and the whole.
    let earliest = policy.nextAttemptMs(afterAttempts: 3, createdMs: 0, nowMs: 1_000, jitter: 0)
    let latest = policy.nextAttemptMs(afterAttempts: 3, createdMs: 0, nowMs: 1_000, jitter: 1)
    #expect(earliest == Int64(11_000), "\(String(describing: earliest))")
    #expect(latest == Int64(21_000), "\(String(describing: latest))")
    // The last attempt falls on the deadline; after it, the dead letter.
    let deadline: Int64 = 3 * 86_400_000
    #expect(policy.nextAttemptMs(afterAttempts: 30, createdMs: 0, nowMs: deadline - 60_000, jitter: 1) == deadline)
    #expect(policy.nextAttemptMs(afterAttempts: 31, createdMs: 0, nowMs: deadline, jitter: 0) == nil)
    // Over 3 days the standard policy tries about 50 times (2 h apart at the end), not thousands.
    var (now, attempts): (Int64, Int) = (0, 0)
    while let next = RetryPolicy.standard.nextAttemptMs(afterAttempts: attempts + 1, createdMs: 0, nowMs: now, jitter: 0.5) {
      (now, attempts) = (next, attempts + 1)
    }
    #expect((40...70).contains(attempts), "\(attempts)")
  }

  @Test func theRateLimitFoldsTheExcessIntoOneDigest() {
    #expect(DeliveryRatePlan.plan(due: 5, sentInWindow: 0, limit: 20) == DeliveryRatePlan(individually: 5, folded: 0))
    #expect(DeliveryRatePlan.plan(due: 20, sentInWindow: 0, limit: 20) == DeliveryRatePlan(individually: 20, folded: 0))
    // 25 due: 19 on their own, the other 6 in one digest: 20 messages.
    #expect(DeliveryRatePlan.plan(due: 25, sentInWindow: 0, limit: 20) == DeliveryRatePlan(individually: 19, folded: 6))
    #expect(DeliveryRatePlan.plan(due: 3, sentInWindow: 18, limit: 20) == DeliveryRatePlan(individually: 1, folded: 2))
    // No free slot: everything waits.
    #expect(DeliveryRatePlan.plan(due: 3, sentInWindow: 20, limit: 20) == DeliveryRatePlan(individually: 0, folded: 0))
    #expect(EndpointKind.dingtalk.messagesPerMinute == 20 && EndpointKind.wecom.messagesPerMinute == 20)
  }

  @Test func endpointChecksNameTheField() {
    func problem(_ change: (inout DeliveryEndpoint) -> Void) -> String? {
      var endpoint = DeliveryEndpoint(
        id: "e", name: "ops", kind: .webhook, url: "https://hooks.example.com/x", secret: WebhookSecret.generate(),
        events: [.alertOpened], language: .en, createdMs: 0)
      change(&endpoint)
      do {
        _ = try endpoint.validated()
        return nil
      } catch {
        return error.description
      }
    }
    #expect(problem { _ in } == nil)
    #expect(problem { $0.url = "http://hooks.example.com/x" }?.hasPrefix("endpoint url: must be https://") == true)
    #expect(problem { $0.url = "http://127.0.0.1:9/x" } == nil)
    #expect(problem { $0.url = "not a url" }?.hasPrefix("endpoint url:") == true)
    #expect(problem { $0.events = [] }?.hasPrefix("endpoint events:") == true)
    #expect(problem { $0.events = [.digest] }?.contains("'digest' cannot be chosen") == true)
    #expect(problem { $0.secret = "whsec_tooshort" }?.hasPrefix("endpoint secret:") == true)
    #expect(problem { $0.name = "  " }?.hasPrefix("endpoint name:") == true)
    #expect(problem { ($0.kind, $0.secret) = (.slack, "x") }?.hasPrefix("endpoint secret:") == true)
    #expect(problem { ($0.kind, $0.secret) = (.dingtalk, "nope") }?.contains("starts with SEC") == true)
    #expect(problem { ($0.kind, $0.secret) = (.dingtalk, "") } == nil)
    let masked = DeliveryEndpoint(
      id: "e", name: "n", kind: .webhook, url: "https://x", secret: "whsec_abcdefgh1234", events: [], language: .en, createdMs: 0)
    #expect(masked.maskedSecret == "whsec_…1234")
  }

  @Test func receiversAnswersAreJudged() {
    #expect(MessagePoster.judge(status: 200, body: #"{"errcode":0,"errmsg":"ok"}"#, kind: .dingtalk) == .accepted)
    // DingTalk and WeCom answer 200 to a bad signature or too many messages.
    #expect(
      MessagePoster.judge(status: 200, body: #"{"errcode":310000,"errmsg":"sign not match"}"#, kind: .dingtalk)
        == .failed("errcode 310000: sign not match"))
    #expect(MessagePoster.judge(status: 200, body: "ok", kind: .slack) == .accepted)
    #expect(MessagePoster.judge(status: 410, body: "", kind: .slack) == .gone("HTTP 410 Gone"))
    #expect(MessagePoster.judge(status: 503, body: "busy", kind: .webhook) == .failed("HTTP 503: busy"))
    #expect(MessagePoster.judge(status: 404, body: "", kind: .webhook) == .failed("HTTP 404"))
  }

  @Test func messagesAreWordedInTheEndpointsLanguageAndLinkToTheCockpit() throws {
    let alert = AlertRecord(
      id: "a1", ruleID: "r", kpi: .csat, dimension: .region, dimensionValue: "south", value: 3.1, sampleSize: 40, expectedLow: 4,
      expectedHigh: 5, severity: .critical, openedMs: 1_764_849_600_000, resolvedMs: nil, windowStartMs: 0, windowEndMs: 0,
      message: "CSAT in south is 3.1",
      contributors: [AlertContributor(dimension: .channel, value: "phone", effect: -0.4, rateEffect: -0.3, mixEffect: -0.1)])
    let event = DeliveryEvent(alert, kind: .alertOpened)
    #expect(event.id == "alert.opened-a1")
    #expect(DeliveryEvent(payload: event.payload) == event)
    let message = DeliveryMessage(cockpitURL: "https://cockpit.example.com/")
    func endpoint(_ kind: EndpointKind, _ language: MessageLanguage, secret: String = "") -> DeliveryEndpoint {
      DeliveryEndpoint(
        id: "e", name: "ops", kind: kind, url: "https://r.example.com/send?access_token=t", secret: secret, events: [.alertOpened],
        language: language, createdMs: 0)
    }
    let zh = message.request(event, to: endpoint(.dingtalk, .zh, secret: "SEC0123456789abcdef"), nowMs: 1_000)
    let zhBody = try #require(try JSONSerialization.jsonObject(with: Data(zh.body)) as? [String: Any])
    let markdown = try #require(zhBody["markdown"] as? [String: String])
    #expect(zhBody["msgtype"] as? String == "markdown")
    #expect(markdown["title"] == "告警（critical）：region=south csat")
    #expect(markdown["text"]?.contains("主要原因：channel=phone (-0.4)") == true)
    #expect(markdown["text"]?.contains("(https://cockpit.example.com/why?kpi=csat&days=7)") == true)
    #expect(zh.url.contains("&timestamp=1000&sign="))

    let slack = message.request(event, to: endpoint(.slack, .en), nowMs: 1_000)
    let text = try #require((try JSONSerialization.jsonObject(with: Data(slack.body)) as? [String: String])?["text"])
    #expect(text.hasPrefix("*Alert (critical): csat region=south*\n• now 3.1, expected 4–5"))
    #expect(text.contains("top contributors: channel=phone (-0.4)"))

    let webhookSecret = WebhookSecret.generate()
    let hook = message.request(event, to: endpoint(.webhook, .en, secret: webhookSecret), nowMs: 1_764_849_601_234)
    let headers = Dictionary(uniqueKeysWithValues: hook.headers)
    #expect(headers["webhook-id"] == "alert.opened-a1" && headers["webhook-timestamp"] == "1764849601")
    #expect(
      headers["webhook-signature"]
        == DeliverySigning.webhookSignature(secret: webhookSecret, id: "alert.opened-a1", timestampSeconds: 1_764_849_601, body: hook.body))
    let hookBody = try #require(try JSONSerialization.jsonObject(with: Data(hook.body)) as? [String: Any])
    #expect(hookBody["type"] as? String == "alert.opened")
    #expect((hookBody["data"] as? [String: Any])?["id"] as? String == "alert.opened-a1")

    // A digest names what it folded; a case's message links to its page.
    var facts = DeliveryFacts()
    facts.summary = "Call back C7"
    facts.subject = "answer-r1"
    facts.owner = "desk"
    let opened = DeliveryEvent(id: "case.opened-answer-r1", kind: .caseOpened, atMs: 0, facts: facts)
    let digest = OutboxDeliverer.digest(of: [opened, event], endpointID: "e", nowMs: 5)
    #expect(digest.id == "digest-e-case.opened-answer-r1" && digest.facts.folded.count == 2)
    let wecom = message.request(digest, to: endpoint(.wecom, .zh), nowMs: 5)
    let content = try #require(
      ((try JSONSerialization.jsonObject(with: Data(wecom.body)) as? [String: Any])?["markdown"] as? [String: String])?["content"])
    #expect(content.hasPrefix("**另有 2 条消息（频率限制合并）**\n> case.opened: Call back C7\n> alert.opened: CSAT in south is 3.1"))
    #expect(message.link(opened) == "https://cockpit.example.com/case?id=answer-r1")
    #expect(DeliveryMessage(cockpitURL: "").link(opened) == nil)
  }

  /// A verdict whose interval the design cannot bound (one treated unit: ±∞) still makes a
  /// readable event and message: the bounds are left out, nothing is lost.
  @Test func aVerdictWithAnUnboundedIntervalIsStillDelivered() throws {
    let verification = CaseVerification(
      horizonDays: 14, evaluatedMs: 5, kpi: "csat", dimension: "region", treated: ["south"], controlUnits: 3, method: "permutation",
      effect: 0.2, ciLow: -.infinity, ciHigh: .infinity, pValue: 0.5, verdict: .inconclusive, weakerEvidence: false, note: "few units")
    #expect(CaseVerification(document: verification.document) == verification)
    let item = ServiceCase(
      id: "case-1", title: "Refunds", source: .person, dueMs: 0,
      action: CaseAction(description: "same-day refunds", effectiveMs: 0, scope: CaseScope(regions: ["south"])), openedMs: 0)
    let event = DeliveryEvent(verification, of: item)
    #expect(event.id == "verification.result-case-1-0-14d" && event.facts.ciLow == nil && event.facts.effect == 0.2)
    #expect(DeliveryEvent(payload: event.payload) == event)
    let endpoint = DeliveryEndpoint(
      id: "e", name: "ops", kind: .webhook, url: "https://x.example.com", secret: WebhookSecret.generate(),
      events: [.verificationResult], language: .en, createdMs: 0)
    let body = String(decoding: DeliveryMessage(cockpitURL: "").request(event, to: endpoint, nowMs: 5).body, as: UTF8.self)
    #expect(body.contains(#""type":"verification.result""#) && body.contains("same-day refunds (14 days): inconclusive"), "\(body)")
  }
}
