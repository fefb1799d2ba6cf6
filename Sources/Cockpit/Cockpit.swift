import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
import HTTPTypes
import Hummingbird
import HummingbirdHTTP2
public import Logging
import NIOCore
import NIOSSL
public import ServiceLifecycle
import SightlineModel
public import SightlineRPC
import SightlineWire
import SwiftProtobuf
import Synchronization

/// The web cockpit (docs/cockpit.md): the dashboard service managers open in a browser,
/// served by the gateway process over HTTPS (HTTP/2 and HTTP/1.1, the suite's PKI) with
/// Hummingbird. Pages are rendered on the server from the gateway's own gRPC API, called
/// with the signed-in user's key, so roles, tenancy and limits are the gateway's.
public struct Cockpit: Sendable {
  /// Where it listens and how it reaches the gateway.
  public struct Configuration: Sendable {
    /// The HTTPS address.
    public var listen: HostAndPort
    /// The suite's PKI: the server certificate it presents and the CA it trusts.
    public var pki: PKIDirectory
    /// The gateway's gRPC address (this process).
    public var gateway: HostAndPort

    /// A configuration from its parts.
    public init(listen: HostAndPort, pki: PKIDirectory, gateway: HostAndPort) {
      self.listen = listen
      self.pki = pki
      self.gateway = gateway
    }
  }

  let gateway: GRPCClient<HTTP2ClientTransport.Posix>
  let sessions: SessionStore
  let logger: Logger

  /// The gRPC metadata carrying a session's key.
  static func metadata(_ session: SessionStore.Session) -> Metadata { SuiteMetadata.bearer(session.key) }

  /// The cockpit's services: its gateway client, then its HTTPS server. `onListening`
  /// receives the bound port (for a configured port 0).
  public static func make(
    configuration: Configuration, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }
  ) throws -> [any Service] {
    let client = ManagedClient(
      try ClientFactory.makeClient(
        endpoint: configuration.gateway, security: SuiteTLS.clientSecurity(caFile: configuration.pki.caCertificate, identity: nil)))
    let cockpit = Cockpit(gateway: client.client, sessions: SessionStore(), logger: logger)
    var tls = TLSConfiguration.makeServerConfiguration(
      certificateChain: try NIOSSLCertificate.fromPEMFile(configuration.pki.serverCertificate).map { .certificate($0) },
      privateKey: .privateKey(try NIOSSLPrivateKey(file: configuration.pki.serverKey, format: .pem)))
    tls.minimumTLSVersion = .tlsv12
    let application = Application(
      router: cockpit.router(),
      server: try .http2Upgrade(tlsConfiguration: tls),
      configuration: .init(address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: nil),
      onServerRunning: { channel in
        if let port = channel.localAddress?.port { onListening(port) }
      },
      logger: logger)
    return [client, application]
  }

  // MARK: Routes

  func router() -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: SecurityHeaders())
    router.get("/static/cockpit.css") { _, _ in Self.asset(Assets.css, type: "text/css; charset=utf-8") }
    router.get("/static/cockpit.js") { _, _ in Self.asset(Assets.script, type: "text/javascript; charset=utf-8") }
    router.get("/signin") { request, _ in self.signInPage(request, problem: nil) }
    router.post("/signin") { request, _ in await self.signIn(request) }
    router.post("/signout") { request, _ in await self.signOut(request) }
    router.get("/") { request, _ in await self.page(request) { try await OverviewPage.render($0, gateway: self.gateway) } }
    router.get("/explore") { request, _ in await self.page(request) { try await ExplorerPage.render($0, gateway: self.gateway) } }
    router.get("/explore.csv") { request, _ in await self.csv(request) }
    router.get("/why") { request, _ in await self.page(request) { try await WhyPage.render($0, gateway: self.gateway) } }
    router.get("/segments") { request, _ in await self.page(request) { try await SegmentsPage.render($0, gateway: self.gateway) } }
    router.get("/voice") { request, _ in await self.page(request) { try await VoicePage.render($0, gateway: self.gateway) } }
    router.get("/workload") { request, _ in await self.page(request) { try await WorkloadPage.render($0, gateway: self.gateway) } }
    router.get("/experiments") { request, _ in await self.page(request) { try await ExperimentsPage.render($0, gateway: self.gateway) } }
    router.get("/cases") { request, _ in await self.page(request) { try await CasesPage.render($0, gateway: self.gateway) } }
    router.get("/case") { request, _ in await self.page(request) { try await CasePage.render($0, gateway: self.gateway) } }
    router.get("/followups") { request, _ in await self.page(request) { try await FollowUpsPage.render($0, gateway: self.gateway) } }
    router.post("/cases/open") { request, _ in await self.openCase(request) }
    router.post("/followups/record") { request, _ in await self.recordFollowUp(request) }
    router.post("/cases/update") { request, _ in await self.updateCase(request) }
    router.get("/admin/keys") { request, _ in
      await self.page(request, admin: true) { try await KeysPage.render($0, gateway: self.gateway) }
    }
    router.get("/events") { request, _ in self.events(request) }
    return router
  }

  // MARK: Request helpers

  static let sessionCookie = "sl_session"
  static let signInCookie = "sl_signin"
  static let languageCookie = "sl_lang"

  func session(_ request: Request) -> SessionStore.Session? {
    sessions.session(request.cookies[Self.sessionCookie]?.value)
  }

  /// The language: `?lang=` (remembered in a cookie), else the cookie, else Accept-Language.
  static func language(_ request: Request) -> (Language, chosen: Language?) {
    if let chosen = query(request).last(where: { $0.0 == "lang" }).flatMap({ Language(rawValue: $0.1) }) { return (chosen, chosen) }
    if let remembered = request.cookies[languageCookie].flatMap({ Language(rawValue: $0.value) }) { return (remembered, nil) }
    return (Language.preferred(acceptLanguage: request.headers[.acceptLanguage]), nil)
  }

  static func query(_ request: Request) -> [(String, String)] {
    FormData.decode(request.uri.query ?? "")
  }

  /// A cookie of the cockpit (Hummingbird's `Cookie`): the whole site, HTTPS only, never
  /// read by scripts, never sent from another site.
  static func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
    Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .strict).description
  }

  static func html(_ body: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
    var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
    for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
  }

  static func redirect(_ location: String, cookies: [String] = []) -> Response {
    var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
    for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
    return Response(status: .seeOther, headers: headers)
  }

  static func asset(_ text: String, type: String) -> Response {
    Response(
      status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
      body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  /// A signed-in page: without a session, a redirect to sign-in; a non-admin on an admin
  /// page, 403 before any call; a failed call, an error page with the gateway's reason.
  func page(_ request: Request, admin: Bool = false, _ render: @Sendable (PageContext) async throws -> String) async -> Response {
    let (language, chosen) = Self.language(request)
    let cookies = chosen.map { [Self.cookie(Self.languageCookie, $0.rawValue, maxAge: 365 * 86_400)] } ?? []
    guard let session = session(request) else {
      let back = request.uri.path == "/" ? "" : "?next=" + HTML.percentEncode(request.uri.path)
      return Self.redirect("/signin" + back, cookies: cookies)
    }
    var context = PageContext(session: session, language: language, path: request.uri.path, query: Self.query(request))
    context.zone = await tenantZone(session)
    guard !admin || session.isAdmin else {
      return Self.html(
        Layout.page(context, title: context.text("forbidden.title"), body: "<p>\(HTML.escape(context.text("forbidden.text")))</p>"),
        status: .forbidden, cookies: cookies)
    }
    do {
      return Self.html(try await render(context), cookies: cookies)
    } catch let error as RPCError where error.code == .unauthenticated {
      // The key was revoked since sign-in: the session ends with it.
      sessions.close(session.id)
      return Self.redirect("/signin", cookies: cookies)
    } catch {
      let reason = (error as? RPCError).map { "\($0.code): \($0.message)" } ?? "\(error)"
      logger.warning("cockpit page failed", metadata: ["path": "\(request.uri.path)", "error": "\(reason)"])
      return Self.html(
        Layout.page(context, title: context.text("error.title"), body: Layout.unavailable(context, reason)),
        status: .badGateway, cookies: cookies)
    }
  }

  /// The session's tenant's time zone, from its settings (UTC when they cannot be read: the
  /// page then says so, since it names the zone it shows).
  func tenantZone(_ session: SessionStore.Session) async -> TimeZone {
    let settings = try? await Sightline_Metrics_V1_Metrics.Client(wrapping: gateway).getSettings(.init(), metadata: Self.metadata(session))
    return settings.flatMap { TimeZone(identifier: $0.timeZone) } ?? .gmt
  }

  func csv(_ request: Request) async -> Response {
    guard let session = session(request) else { return Response(status: .unauthorized) }
    var context = PageContext(session: session, language: Self.language(request).0, path: "/explore.csv", query: Self.query(request))
    context.zone = await tenantZone(session)
    do {
      let text = try await ExplorerPage.csv(context, gateway: gateway)
      let query = ExplorerQuery(context)
      return Response(
        status: .ok,
        headers: [
          .contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
          .contentDisposition: "attachment; filename=\"sightline-\(query.kpi.rawValue).csv\"",
        ],
        body: .init(byteBuffer: ByteBuffer(string: text)))
    } catch {
      return Response(status: .badGateway, body: .init(byteBuffer: ByteBuffer(string: "\(error)")))
    }
  }

  // MARK: Sign-in and sign-out

  func signInPage(_ request: Request, problem: String?, status: HTTPResponse.Status = .ok) -> Response {
    let (language, chosen) = Self.language(request)
    // Double-submit token: the form's hidden field must equal this cookie (CSRF).
    let token = SessionStore.token()
    let next = Self.query(request).last { $0.0 == "next" }?.1 ?? "/"
    let body = """
      \(problem.map { "<p class=\"problem\" role=\"alert\">\(HTML.escape(language.text($0)))</p>" } ?? "")
      <form class="signin" method="post" action="/signin">
      <label for="key">\(HTML.escape(language.text("signin.key")))</label>
      <input id="key" name="key" type="password" autocomplete="off" required>
      <input type="hidden" name="csrf" value="\(token)">
      <input type="hidden" name="next" value="\(HTML.escape(next))">
      <button type="submit">\(HTML.escape(language.text("signin.submit")))</button>
      </form>
      <p><a href="/signin?lang=\(language == .en ? "zh" : "en")">\(HTML.escape(language.text("nav.language")))</a></p>
      """
    var cookies = [Self.cookie(Self.signInCookie, token, maxAge: 900)]
    if let chosen { cookies.append(Self.cookie(Self.languageCookie, chosen.rawValue, maxAge: 365 * 86_400)) }
    return Self.html(Layout.bare(language, title: language.text("signin.title"), body: body), status: status, cookies: cookies)
  }

  func signIn(_ request: Request) async -> Response {
    var request = request
    guard let body = try? await request.collectBody(upTo: 16_384) else { return Response(status: .contentTooLarge) }
    let form = FormData.decode(String(buffer: body))
    func field(_ name: String) -> String { form.last { $0.0 == name }?.1 ?? "" }
    guard let expected = request.cookies[Self.signInCookie]?.value, !expected.isEmpty, field("csrf") == expected else {
      return signInPage(request, problem: "signin.expired", status: .forbidden)
    }
    let key = field("key").trimmingCharacters(in: .whitespacesAndNewlines)
    let identity: Sightline_Gateway_V1_WhoAmIResponse
    do {
      identity = try await Sightline_Gateway_V1_Gateway.Client(wrapping: gateway).whoAmI(
        .init(), metadata: SuiteMetadata.bearer(key))
    } catch {
      logger.info("cockpit sign-in refused", metadata: ["error": "\((error as? RPCError)?.code.description ?? "\(error)")"])
      return signInPage(request, problem: "signin.failed", status: .unauthorized)
    }
    guard !identity.operator else { return signInPage(request, problem: "signin.operator", status: .forbidden) }
    let role =
      switch identity.role {
      case .admin: "admin"
      case .writer: "writer"
      default: "reader"
      }
    let session = sessions.open(key: key, tenantID: identity.tenant.id, role: role, keyID: identity.keyID)
    logger.info("cockpit sign-in", metadata: ["tenant.id": "\(identity.tenant.id)", "key.id": "\(identity.keyID)"])
    return Self.redirect(
      Self.localPath(field("next")),
      cookies: [
        Self.cookie(Self.sessionCookie, session.id, maxAge: Int(sessions.lifetime.components.seconds)),
        Self.cookie(Self.signInCookie, "", maxAge: 0),
      ])
  }

  /// Where to go after sign-in: `next` when it is a path on this site, else the overview
  /// (never another site: no open redirect).
  static func localPath(_ next: String) -> String {
    next.hasPrefix("/") && !next.hasPrefix("//") && !next.contains("\\") ? next : "/"
  }

  func signOut(_ request: Request) async -> Response {
    var request = request
    let body = (try? await request.collectBody(upTo: 4_096)).map { String(buffer: $0) } ?? ""
    let token = FormData.decode(body).last { $0.0 == "csrf" }?.1
    guard let session = session(request) else { return Self.redirect("/signin") }
    guard token == session.csrf else { return Response(status: .forbidden) }
    sessions.close(session.id)
    return Self.redirect("/signin", cookies: [Self.cookie(Self.sessionCookie, "", maxAge: 0)])
  }

  // MARK: Cases

  /// A form of a signed-in page: with the session's form token, runs `perform` with the
  /// form's fields and redirects to the page it names (so a reload never sends the form
  /// twice); a failed call shows the error page with the gateway's reason (a reader's key
  /// is refused there).
  func formAction(
    _ request: Request, _ perform: @escaping @Sendable (SessionStore.Session, [(String, String)]) async throws -> String
  ) async -> Response {
    var request = request
    let body = (try? await request.collectBody(upTo: 16_384)).map { String(buffer: $0) } ?? ""
    let fields = FormData.decode(body)
    guard let session = session(request) else { return Self.redirect("/signin") }
    guard fields.last(where: { $0.0 == "csrf" })?.1 == session.csrf else { return Response(status: .forbidden) }
    do {
      return Self.redirect(try await perform(session, fields))
    } catch {
      return await page(request) { _ in throw error }
    }
  }

  /// The overview's "open a case" button on an alert: opens (or finds) the alert's case and
  /// shows it.
  func openCase(_ request: Request) async -> Response {
    await formAction(request) { session, fields in
      let opened = try await Sightline_Cases_V1_Cases.Client(wrapping: self.gateway).openCase(
        .with {
          $0.source = .alert; $0.sourceRef = fields.last { $0.0 == "alert" }?.1 ?? ""
        }, metadata: Self.metadata(session))
      return "/case?id=" + HTML.percentEncode(opened.case.id)
    }
  }

  /// The case page's form: assigns the case and/or adds a note (each a change of its own in
  /// the history), back to the case.
  func updateCase(_ request: Request) async -> Response {
    await formAction(request) { session, fields in
      func field(_ name: String) -> String { (fields.last { $0.0 == name }?.1 ?? "").trimmingCharacters(in: .whitespaces) }
      let (id, owner, note) = (field("case"), field("owner"), field("note"))
      let cases = Sightline_Cases_V1_Cases.Client(wrapping: self.gateway)
      let changes: [Sightline_Cases_V1_UpdateCaseRequest.OneOf_Change] =
        (owner.isEmpty ? [] : [.assign(owner)]) + (note.isEmpty ? [] : [.note(note)])
      for change in changes {
        _ = try await cases.updateCase(
          .with {
            $0.caseID = id; $0.change = change
          }, metadata: Self.metadata(session))
      }
      return "/case?id=" + HTML.percentEncode(id)
    }
  }

  /// The follow-up page's form: records how a call went, back to the follow-up list.
  func recordFollowUp(_ request: Request) async -> Response {
    await formAction(request) { session, fields in
      func field(_ name: String) -> String { fields.last { $0.0 == name }?.1 ?? "" }
      let outcome: Sightline_Cases_V1_FollowUpOutcome =
        switch field("outcome") {
        case "reached": .reached
        case "not_reached": .notReached
        case "recovered": .recovered
        default: .unspecified
        }
      _ = try await Sightline_Cases_V1_Cases.Client(wrapping: self.gateway).recordFollowUp(
        .with {
          $0.caseID = field("case"); $0.outcome = outcome; $0.note = field("note")
        }, metadata: Self.metadata(session))
      return "/followups"
    }
  }

  // MARK: Live updates

  /// Server-sent events for the overview: `refresh` when the tenant's log grows or its
  /// open alerts change (checked every 3 s), a comment every 15 s to keep proxies open.
  /// Ends after 10 minutes, or within a second of the gateway shutting down; the browser
  /// reconnects by itself.
  func events(_ request: Request) -> Response {
    guard let session = session(request) else { return Response(status: .unauthorized) }
    let gateway = self.gateway
    return Response(
      status: .ok,
      headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
      body: ResponseBody { writer in
        var last: String?
        let started = ContinuousClock.now
        var beat = 0
        while ContinuousClock.now - started < .seconds(600), !Task.isCancelled, !Task.isShuttingDownGracefully {
          let state = try? await Self.liveState(gateway, session: session)
          if let state, let previous = last, state != previous {
            try await writer.write(ByteBuffer(string: "event: refresh\ndata: \(state)\n\n"))
          }
          last = state ?? last
          beat += 1
          if beat % 5 == 0 { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")) }
          // Three one-second naps, so a shutdown never waits on an open stream for long.
          for _ in 0..<3 where !Task.isShuttingDownGracefully { try await Task.sleep(for: .seconds(1)) }
        }
        try await writer.finish(nil)
      })
  }

  /// What, when it changes, makes the overview stale: the log's offset and the open alerts.
  static func liveState(_ gateway: GRPCClient<HTTP2ClientTransport.Posix>, session: SessionStore.Session) async throws -> String {
    let metadata = metadata(session)
    let stats = try await Sightline_Ingestion_V1_Ingestion.Client(wrapping: gateway).getStats(.init(), metadata: metadata)
    let alerts = try await Sightline_Metrics_V1_Metrics.Client(wrapping: gateway).listAlerts(
      .with { $0.openOnly = true }, metadata: metadata)
    return "\(stats.lastOffset)-" + alerts.alerts.map(\.id).sorted().joined(separator: ".")
  }
}

/// The headers every cockpit response carries: a strict Content-Security-Policy (only the
/// cockpit's own stylesheet, script and connections; no frames, no plugins, forms only to
/// itself), HSTS, no sniffing, no referrer, no framing.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
  static var policy: String {
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
      + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
  }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var response: Response
    do {
      response = try await next(request, context)
    } catch let error as any HTTPResponseError {
      response = try error.response(from: request, context: context)
    }
    response.headers[HTTPField.Name("Content-Security-Policy")!] = Self.policy
    response.headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000"
    response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
    response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
    response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
    return response
  }
}

/// `application/x-www-form-urlencoded` (forms and query strings) into ordered pairs.
enum FormData {
  static func decode(_ text: String) -> [(String, String)] {
    text.split(separator: "&").compactMap { pair in
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      func decode(_ part: Substring) -> String? { String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
      guard let name = parts.first.flatMap(decode), !name.isEmpty else { return nil }
      return (name, parts.count > 1 ? decode(parts[1]) ?? "" : "")
    }
  }
}
