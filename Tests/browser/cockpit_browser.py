#!/usr/bin/env python3
"""Drives the Sightline web cockpit in headless Chromium and checks it against the RPCs.

Run by CockpitBrowserTests (Swift), which starts the suite on demo data and writes the
numbers every page must show to --expected. Needs Debian's chromium and chromium-driver,
and python3 with selenium, grpcio and grpcio-tools. Screenshots of every page in English
and Chinese go to --screenshots. Exits 0 and prints "all cockpit checks passed", or
exits 1 naming the first check that failed.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import sys
import tempfile
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"))
import ingest  # noqa: E402  (the example client's stub generation)


CHECKS = [0]


def check(condition, message):
    CHECKS[0] += 1
    if not condition:
        print("FAILED: " + message, flush=True)
        sys.exit(1)


class Cockpit:
    def __init__(self, url, ca):
        parsed = urllib.parse.urlparse(url)
        self.base = url.rstrip("/")
        self.host, self.port = parsed.hostname, parsed.port
        self.context = ssl.create_default_context(cafile=ca)

    def request(self, method, path, cookie=None, body=None):
        """One request without a browser (no redirects followed): status, headers, body."""
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        if cookie:
            headers["Cookie"] = cookie
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), data.decode("utf-8", "replace")


def browser(width, height):
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--lang=en-US",
                     # The suite's development CA is not in Chromium's store; the TLS chain
                     # is checked against it separately (check_tls).
                     "--ignore-certificate-errors"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # A page after a form's submission can be slow to arrive on a loaded machine: look for
    # an element for up to 10 s rather than once.
    driver.implicitly_wait(10)
    return driver


def check_tls(cockpit):
    """The cockpit presents the suite's certificate and offers HTTP/2 and HTTP/1.1."""
    for protocol in ["h2", "http/1.1"]:
        context = cockpit.context
        context.set_alpn_protocols([protocol])
        with socket.create_connection((cockpit.host, cockpit.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                check(tls.selected_alpn_protocol() == protocol, f"ALPN {protocol} not negotiated")
    cockpit.context.set_alpn_protocols(["http/1.1"])


def text(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).text.strip()


def check_charts(driver, page):
    """Every chart's text lies inside its drawing (no clipped label); every point has a
    hover title with its value, and its n when the chart knows it; a point is hollow
    exactly when its n is below 30."""
    result = driver.execute_script("""
        var out = {outside: [], points: 0, untitled: 0, smallWrong: 0, small: 0};
        document.querySelectorAll('svg.chart').forEach(function (svg) {
          var box = svg.viewBox.baseVal;
          svg.querySelectorAll('text').forEach(function (t) {
            var b = t.getBBox();
            if (b.x < box.x - 0.5 || b.y < box.y - 0.5 || b.x + b.width > box.x + box.width + 0.5 || b.y + b.height > box.y + box.height + 0.5)
              out.outside.push(t.textContent + ' [' + Math.round(b.x) + ',' + Math.round(b.x + b.width) + ']');
          });
          svg.querySelectorAll('circle.point').forEach(function (c) {
            out.points += 1;
            var title = c.querySelector('title');
            if (!title || !title.textContent) { out.untitled += 1; return; }
            var m = /n=(\\d+)/.exec(title.textContent);
            var small = c.classList.contains('small');
            if (small) out.small += 1;
            if (m && ((parseInt(m[1]) < 30) !== small)) out.smallWrong += 1;
          });
        });
        return out;""")
    check(not result["outside"], f"{page}: chart labels outside their chart: {result['outside'][:5]}")
    check(result["untitled"] == 0, f"{page}: {result['untitled']} of {result['points']} points without a title")
    check(result["smallWrong"] == 0, f"{page}: {result['smallWrong']} points marked against their n")
    return result


def shoot(driver, folder, name):
    driver.save_screenshot(os.path.join(folder, name + ".png"))


def sign_in(driver, cockpit, key):
    driver.get(cockpit.base + "/signin")
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form.signin button").click()
    WebDriverWait(driver, 20).until(lambda d: "/signin" not in d.current_url)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    expected = json.load(open(args.expected))
    os.makedirs(args.screenshots, exist_ok=True)
    cockpit = Cockpit(args.url, args.ca)

    # TLS with the suite's PKI, HTTP/2 and HTTP/1.1.
    check_tls(cockpit)

    # Nothing without a session: pages redirect to sign-in, data URLs are refused.
    status, headers, _ = cockpit.request("GET", "/")
    check(status == 303 and headers.get("location", "").startswith("/signin"), f"/ without a session: {status}")
    for path in ["/explore.csv", "/events"]:
        status, _, _ = cockpit.request("GET", path)
        check(status == 401, f"{path} without a session answered {status}")
    status, headers, _ = cockpit.request("GET", "/segments")
    check(status == 303, f"/segments without a session answered {status}")
    csp = headers.get("content-security-policy", "")
    check("default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, f"CSP: {csp}")
    # Sign-in without the form's token is refused (CSRF).
    status, _, _ = cockpit.request("POST", "/signin", body="key=" + expected["reader_key"])
    check(status == 403, f"sign-in without the CSRF token answered {status}")

    driver = browser(1280, 1800)
    try:
        # A wrong key is refused with a message.
        driver.get(cockpit.base + "/signin")
        driver.find_element(By.ID, "key").send_keys("slk_not_a_key")
        driver.find_element(By.CSS_SELECTOR, "form.signin button").click()
        check("not accepted" in text(driver, ".problem"), "a wrong key was not refused")

        # The reader signs in: the session cookie is HttpOnly, Secure, SameSite=Strict.
        sign_in(driver, cockpit, expected["reader_key"])
        cookie = next(c for c in driver.get_cookies() if c["name"] == "sl_session")
        check(cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict", f"session cookie flags: {cookie}")
        check("expiry" in cookie, "the session cookie does not expire")
        session = "sl_session=" + cookie["value"]

        # Overview: headline values and sample sizes, the business-line table.
        driver.get(cockpit.base + "/")
        for kpi, value in expected["headline"].items():
            shown = text(driver, f'article[data-kpi="{kpi}"] .value')
            check(shown == value, f"overview {kpi}: page {shown!r}, RPC {value!r}")
            n = text(driver, f'article[data-kpi="{kpi}"] .n')
            check(n == str(expected["headline_samples"][kpi]), f"overview {kpi} sample: page {n}, RPC {expected['headline_samples'][kpi]}")
        for line, values in expected["lines"].items():
            for kpi in ["volume", "first_response_time", "csat", "nps", "complaint_rate"]:
                shown = text(driver, f'span[data-line="{line}"][data-kpi="{kpi}"]')
                check(shown == values[kpi], f"line {line} {kpi}: page {shown!r}, RPC {values[kpi]!r}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.chart title")) >= 4, "the trend charts are missing")
        check_charts(driver, "overview")
        # Today, still going, is marked as a partial day on every trend.
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.partial")) >= 4, "today is not marked partial")
        # The traffic light follows the tenant's own CSAT target (50 %), not the default.
        card = driver.find_element(By.CSS_SELECTOR, 'article[data-kpi="csat"]')
        check(expected["csat_status"] in card.get_attribute("class").split(), f"CSAT light: {card.get_attribute('class')}")
        check("≥ 50.0%" in text(driver, 'article[data-kpi="csat"] .status'), "the CSAT card does not show the tenant's target")
        check(driver.find_element(By.ID, "alerts").is_displayed(), "no alerts section")
        shoot(driver, args.screenshots, "overview-en")

        # "Why did it move?": every headline card links to it; the change and the top
        # dimension's segments are the RPC's, with a waterfall drawn.
        check(len(driver.find_elements(By.CSS_SELECTOR, 'article[data-kpi] .why a[href^="/why?kpi="]')) >= 8,
              "the headline cards do not link to their why pages")
        why = expected["why"]
        driver.get(cockpit.base + "/why?" + why["query"])
        lead = driver.find_element(By.CSS_SELECTOR, "p.lead")
        check(lead.get_attribute("data-change") == why["change"], f"why change: page {lead.get_attribute('data-change')}, RPC {why['change']}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.waterfall rect title")) >= 4, "the waterfall is missing")
        rows = driver.find_elements(By.CSS_SELECTOR, "#waterfall ~ div table tbody tr")
        check(len(rows) == why["segments"], f"why segments: page {len(rows)}, RPC {why['segments']}")
        shoot(driver, args.screenshots, "why-en")

        # KPI explorer: the table equals the RPC, in long form and pivoted (one column per
        # line); the CSV download carries the same rows.
        query = expected["explore"]["query"]
        driver.get(cockpit.base + "/explore?" + query)
        pivot = set()
        for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr"):
            bucket = row.find_element(By.CSS_SELECTOR, "th").text.replace(" *", "").strip()
            for cell in row.find_elements(By.CSS_SELECTOR, "[data-pivot]"):
                pivot.add((bucket, cell.get_attribute("data-pivot"), cell.text.strip()))
        wanted = set((r[0], r[1], r[2]) for r in expected["explore"]["rows"] if r[3] != "0")
        check(pivot == wanted, f"pivoted explorer differs: {sorted(pivot ^ wanted)[:4]}")
        # 20 lines: the three highest and three lowest keep colours, the rest are grey,
        # and the legend says which is which with swatches.
        coloured = [p for p in driver.find_elements(By.CSS_SELECTOR, "svg.chart path") if p.get_attribute("stroke") != "#b8bec8"]
        grey = [p for p in driver.find_elements(By.CSS_SELECTOR, "svg.chart path") if p.get_attribute("stroke") == "#b8bec8"]
        check(len(coloured) == 6 and len(grey) >= 1, f"explorer lines: {len(coloured)} coloured, {len(grey)} grey")
        check(len(driver.find_elements(By.CSS_SELECTOR, ".legend li .swatch")) >= 7, "the explorer's legend has no swatches")
        marks = check_charts(driver, "explore")
        check(marks["small"] >= 1, "no small-sample point is marked on the explorer")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.partial")) >= 1, "no partial week is marked")
        shoot(driver, args.screenshots, "explore-pivot-en")
        driver.get(cockpit.base + "/explore?" + query + "&table=long")
        rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
        shown = [[cell.text.strip() for cell in row.find_elements(By.CSS_SELECTOR, "th, td")] for row in rows]
        check(shown == expected["explore"]["rows"], f"explorer rows differ: page {shown[:3]}…, RPC {expected['explore']['rows'][:3]}…")
        # Its dates are the tenant's local days, and the page names the zone.
        zone = driver.find_element(By.CSS_SELECTOR, "[data-zone]").get_attribute("data-zone")
        check(zone == "Asia/Shanghai", f"page names zone {zone}")
        check(driver.find_element(By.CSS_SELECTOR, "select[name=kpi] option[selected]").get_attribute("value") == "csat",
              "the explorer's filters are not kept in the URL")
        shoot(driver, args.screenshots, "explore-en")
        status, headers, body = cockpit.request("GET", "/explore.csv?" + query, cookie=session)
        check(status == 200 and headers.get("content-type", "").startswith("text/csv"), f"CSV: {status} {headers}")
        lines = body.strip().splitlines()
        check(lines[0].startswith("bucket_start,business_line,kpi,value,sample_size"), f"CSV header: {lines[0]}")
        check(len(lines) - 1 == len(expected["explore"]["rows"]), f"CSV rows: {len(lines) - 1}")
        check([line.split(",")[4] for line in lines[1:]] == [row[3] for row in expected["explore"]["rows"]], "CSV sample sizes differ")

        # Segments: every scorecard's members.
        driver.get(cockpit.base + "/segments")
        for segment, members in expected["members"].items():
            shown = text(driver, f'article[data-segment="{segment}"] .members')
            check(shown == str(members), f"segment {segment}: page {shown} members, RPC {members}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "[data-customer]")) > 0, "no at-risk customers shown")
        shoot(driver, args.screenshots, "segments-en")

        # Voice of the customer: the negative themes in the RPC's order, and the trend.
        driver.get(cockpit.base + "/voice")
        terms = [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, "#themes ~ div [data-theme]")]
        check(terms == expected["themes"], f"themes: page {terms}, RPC {expected['themes']}")
        check(any(" " in t or len(t) >= 3 for t in terms), f"no theme is a phrase: {terms}")
        check_charts(driver, "voice")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.chart")) == 1, "no sentiment trend")
        # Sentiment as shares of negative, neutral and positive texts, one bar per theme.
        mixes = driver.find_elements(By.CSS_SELECTOR, "[data-sentiment-mix]")
        check(len(mixes) == len(terms) and all(m.find_elements(By.CSS_SELECTOR, "svg.mix rect") for m in mixes),
              f"sentiment shares: {len(mixes)} for {len(terms)} themes")
        shoot(driver, args.screenshots, "voice-en")
        # The VIPs' themes: the demo's planted phrase leads them. (This short demo has no
        # period before the last 30 days, so nothing can be emerging: DemoTests checks the
        # rise on a longer one.)
        driver.get(cockpit.base + "/voice?segment=vip")
        vip = [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, "#themes ~ div [data-theme]")]
        planted = [t for t in vip[:2] if t in ("dedicated account manager", "专属客服")]
        check(planted, f"the planted phrase does not lead the VIPs' themes: {vip}")
        check(not driver.find_elements(By.CSS_SELECTOR, "[data-emerging]"), "themes emerging from no period before")
        shoot(driver, args.screenshots, "voice-vip-en")
        # A theme drills down to its texts and splits by business line.
        driver.find_element(By.CSS_SELECTOR, f'#themes ~ div a[data-theme="{planted[0]}"]').click()
        texts = driver.find_elements(By.CSS_SELECTOR, "#theme table span.text")
        check(texts and all(planted[0] in t.text.lower() for t in texts), f"drill-down texts of {planted[0]}: {len(texts)}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#theme [data-split]")) >= 1, "no split by business line")
        shoot(driver, args.screenshots, "voice-theme-en")

        # Workload: a 168-hour heatmap with a titled cell for every hour of the week, hatched
        # exactly where it rests on fewer than 30 answers; a pasted roster finds short hours.
        driver.get(cockpit.base + "/workload?kpi=csat")
        check_charts(driver, "workload")
        heat = driver.execute_script("""
            var svg = document.querySelector('svg.heatmap');
            var out = {cells: 0, titled: 0, smallWrong: 0};
            svg.querySelectorAll('rect.cell').forEach(function (r) {
              out.cells += 1;
              var t = r.querySelector('title');
              if (t && t.textContent) out.titled += 1;
              var m = /n=(\\d+)/.exec(t ? t.textContent : '');
              if (m && ((parseInt(m[1]) < 30) !== r.classList.contains('small'))) out.smallWrong += 1;
            });
            return out;""")
        check(heat["cells"] == 168 and heat["titled"] == 168, f"workload heatmap: {heat}")
        check(heat["smallWrong"] == 0, f"workload heatmap: {heat['smallWrong']} cells marked against their n")
        check(len(driver.find_elements(By.CSS_SELECTOR, "svg.heatmap")) == 2, "no heatmap of the agents needed")
        shoot(driver, args.screenshots, "workload-en")
        roster = "weekday,hour,agents%0AMon,08-20,1%0ATue,08-20,1"
        driver.get(cockpit.base + "/workload?roster=" + roster)
        rows = driver.find_elements(By.CSS_SELECTOR, "#staffing ~ div table tbody tr, #staffing ~ .scroll table tbody tr")
        check(len(rows) >= 1, "a one-agent roster leaves no hour short")
        shoot(driver, args.screenshots, "workload-roster-en")
        driver.get(cockpit.base + "/workload?roster=" + "weekday,hour,agents%0AFunday,9,1")
        check("Funday" in text(driver, "#staffing ~ p.warning"), "a bad roster line is not named")

        # Experiments: verdict and effects, a forest plot.
        driver.get(cockpit.base + "/experiments")
        experiment = expected["experiment"]
        section = f'section[data-experiment="{experiment["name"]}"]'
        verdict = driver.find_element(By.CSS_SELECTOR, section + " [data-verdict]").get_attribute("data-verdict")
        check(verdict == experiment["verdict"], f"verdict: page {verdict}, RPC {experiment['verdict']}")
        for kpi, effect in experiment["effects"].items():
            shown = driver.find_element(By.CSS_SELECTOR, f'{section} [data-metric="{kpi}"]').get_attribute("data-effect")
            check(shown == effect, f"effect {kpi}: page {shown}, RPC {effect}")
        # Each verdict stands beside the interval it was decided on: one excluding zero
        # beside "inconclusive", or including it beside "better"/"worse", fails.
        decisions = driver.find_elements(By.CSS_SELECTOR, section + " [data-decision-low]")
        check(len(decisions) == len(experiment["effects"]), f"{len(decisions)} decision intervals")
        for decision in decisions:
            low, high = float(decision.get_attribute("data-decision-low")), float(decision.get_attribute("data-decision-high"))
            beside = decision.get_attribute("data-verdict")
            check((low > 0 or high < 0) == (beside != "inconclusive"), f"interval [{low}, {high}] beside {beside}")
        check(len(driver.find_elements(By.CSS_SELECTOR, section + " svg.forest circle")) >= 1, "no forest plot")
        # The picture behind the verdict: per primary metric, treated and control over time
        # (two lines, a legend), the rollout marked, the pre-period balance said.
        arms = driver.find_elements(By.CSS_SELECTOR, section + " figure[data-arms]")
        check(len(arms) == experiment["primaries"], f"{len(arms)} arm charts for {experiment['primaries']} primary metrics")
        for figure in arms:
            check(len(figure.find_elements(By.CSS_SELECTOR, "svg.chart path")) == 2, "treated and control lines")
            check(len(figure.find_elements(By.CSS_SELECTOR, "svg.chart line.marker")) == 1, "the rollout marked")
            check(len(figure.find_elements(By.CSS_SELECTOR, "[data-balance]")) == 1, "the balance said")
            check(len(figure.find_elements(By.CSS_SELECTOR, ".legend li:not(.small-note):not(.partial-note) .swatch")) == 2,
                  "a legend with swatches")
        check_charts(driver, "experiments")
        shoot(driver, args.screenshots, "experiments-en")

        # Live: a new ticket makes the overview reload by itself (server-sent events). Last
        # of the number checks: the ticket changes them.
        driver.get(cockpit.base + "/")
        driver.execute_script("window.__beforeRefresh = true;")
        pb, stubs = ingest.generate_stubs(tempfile.mkdtemp())
        import grpc
        credentials = grpc.ssl_channel_credentials(open(args.ca, "rb").read())
        channel = grpc.secure_channel(args.gateway, credentials, options=[("grpc.ssl_target_name_override", "localhost")])
        reply = stubs.IngestionStub(channel).Ingest(pb.IngestRequest(events=[pb.Event(
            event_id="live-1", ticket_event=pb.TicketEvent(
                ticket_id="LIVE-1", kind=pb.TICKET_EVENT_KIND_CREATED, customer_id="C-live",
                time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), channel="email", business_line="L01"))]),
            metadata=[("authorization", "Bearer " + expected["admin_key"])], timeout=30)
        check(reply.accepted == 1, f"the live ticket was not accepted: {reply}")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.__beforeRefresh === undefined;"))

        # A reader sees cases but has no button to open one, nor a form to record a call
        # (the gateway would refuse both).
        check(not driver.find_elements(By.CSS_SELECTOR, "form.open-case"), "a reader sees the open-a-case button")
        driver.get(cockpit.base + "/followups")
        check(not driver.find_elements(By.CSS_SELECTOR, "form.record-call"), "a reader sees the record-a-call form")
        driver.get(cockpit.base + "/")
        csrf = driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] input[name=csrf]").get_attribute("value")
        status, _, body = cockpit.request("POST", "/cases/open", cookie=session,
                                          body="csrf=" + csrf + "&alert=" + urllib.parse.quote(expected["alert_id"]))
        check(status == 502 and "permission" in body.lower(), f"a reader opening a case answered {status}")

        # A reader cannot reach the admin page, and has no link to it.
        status, _, _ = cockpit.request("GET", "/admin/keys", cookie=session)
        check(status == 403, f"a reader reached /admin/keys: {status}")
        check(not driver.find_elements(By.CSS_SELECTOR, 'nav a[href="/admin/keys"]'), "a reader sees the admin link")

        # Sign-out needs the session's form token; then the session is gone.
        status, _, _ = cockpit.request("POST", "/signout", cookie=session, body="csrf=wrong")
        check(status == 403, f"sign-out without the token answered {status}")
        driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] button").click()
        WebDriverWait(driver, 20).until(lambda d: "/signin" in d.current_url)
        status, _, _ = cockpit.request("GET", "/", cookie=session)
        check(status == 303, f"the old session still works after sign-out: {status}")

        # The admin opens the case of an alert from the cockpit (without the form token: refused).
        sign_in(driver, cockpit, expected["admin_key"])
        check(expected["alert_id"], "the demo raised no alert to open a case for")
        admin_session = "sl_session=" + next(c for c in driver.get_cookies() if c["name"] == "sl_session")["value"]
        status, _, _ = cockpit.request("POST", "/cases/open", cookie=admin_session, body="csrf=wrong&alert=" + expected["alert_id"])
        check(status == 403, f"opening a case without the token answered {status}")
        driver.get(cockpit.base + "/")
        buttons = driver.find_elements(By.CSS_SELECTOR, "form.open-case button")
        if buttons:
            buttons[0].click()
        else:
            # No alert is open right now: the same form, posted for the demo's alert.
            driver.get(cockpit.base + "/cases")
            driver.execute_script("""
                var f = document.createElement('form'); f.method = 'post'; f.action = '/cases/open';
                [['csrf', arguments[0]], ['alert', arguments[1]]].forEach(function (p) {
                  var i = document.createElement('input'); i.type = 'hidden'; i.name = p[0]; i.value = p[1]; f.appendChild(i); });
                document.body.appendChild(f); f.submit();""",
                driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] input[name=csrf]").get_attribute("value"),
                expected["alert_id"])
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, 'p.lead[data-case^="alert-"]'))
        case_id = driver.find_element(By.CSS_SELECTOR, "p.lead[data-case]").get_attribute("data-case")
        changes = [e.get_attribute("data-change") for e in driver.find_elements(By.CSS_SELECTOR, "[data-change]")]
        check(changes and changes[0] == "opened", f"the case's history: {changes}")
        check("first admin key (" in driver.page_source, "the history does not name the admin's key")
        # Assigned and noted from the page: two changes in the history, under the admin's key.
        work = driver.find_element(By.CSS_SELECTOR, "form.work-case")
        work.find_element(By.NAME, "owner").send_keys("wang")
        work.find_element(By.NAME, "note").send_keys("called the carrier")
        work.find_element(By.CSS_SELECTOR, "button").click()
        WebDriverWait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-change]")) >= len(changes) + 2)
        worked = [e.get_attribute("data-change") for e in driver.find_elements(By.CSS_SELECTOR, "[data-change]")]
        check(worked[-2:] == ["assigned", "note"], f"the case's history after working it: {worked}")
        check("called the carrier" in driver.page_source and "wang" in driver.page_source, "the assignment or note is missing")
        status, _, _ = cockpit.request("POST", "/cases/update", cookie=admin_session, body="csrf=wrong&case=" + case_id + "&note=x")
        check(status == 403, f"working a case without the token answered {status}")
        shoot(driver, args.screenshots, "case-en")
        driver.get(cockpit.base + "/cases")
        check(driver.find_elements(By.CSS_SELECTOR, f'a[data-case="{case_id}"]'), f"the cases page does not list {case_id}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "[data-loop]")) == 4, "the cases page lacks the four loop KPIs")
        shoot(driver, args.screenshots, "cases-en")
        driver.get(cockpit.base + "/followups")
        followups = driver.find_elements(By.CSS_SELECTOR, "article[data-followup]")
        check(followups, "the case rules opened no follow-up for the demo's detractors of the last week")
        # Each with the customer's risk from the segmentation service (never "unavailable" here).
        check(not driver.find_elements(By.CSS_SELECTOR, '[data-context="unavailable"]'), "the follow-ups lack segmentation's context")
        check(len(driver.find_elements(By.CSS_SELECTOR, "article[data-followup] [data-risk]")) == len(followups), "a follow-up without its risk")
        shoot(driver, args.screenshots, "followups-en")
        # A call recorded from the page closes the case: it leaves the list, and its history says so.
        called = followups[0].get_attribute("data-followup")

        def record_call():
            article = driver.find_element(By.CSS_SELECTOR, f'article[data-followup="{called}"]')
            form = article.find_element(By.CSS_SELECTOR, "form.record-call")
            form.find_element(By.CSS_SELECTOR, "select[name=outcome] option[value=recovered]").click()
            form.find_element(By.NAME, "note").send_keys("voucher sent")
            form.find_element(By.CSS_SELECTOR, "button").click()
            # The list's own address does not change, so wait for the old page to go (the
            # form goes stale once the browser has followed the post's redirect), not for
            # the URL.
            WebDriverWait(driver, 30).until(expected_conditions.staleness_of(form))
            return driver.current_url.endswith("/followups")

        recorded = record_call()
        failure = "" if recorded else driver.find_element(By.TAG_NAME, "body").text[:500]
        # A transient failure the page names (the services busy on two loaded cores) is
        # tried again once, as a person would; any other failure fails the test.
        if not recorded and any(code in failure for code in ("unavailable", "deadlineExceeded", "resourceExhausted")):
            print(f"recording the call was refused for now, tried again: {failure}", file=sys.stderr)
            driver.get(cockpit.base + "/followups")
            recorded = not driver.find_elements(By.CSS_SELECTOR, f'article[data-followup="{called}"]') or record_call()
        check(recorded, f"recording the call led to {driver.current_url}: {driver.find_element(By.TAG_NAME, 'body').text[:500]}")
        check(not driver.find_elements(By.CSS_SELECTOR, f'article[data-followup="{called}"]'), f"{called} is still to call")
        driver.get(cockpit.base + "/case?id=" + urllib.parse.quote(called))
        check(driver.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status") == "closed", f"{called} is not closed")
        check("voucher sent" in driver.page_source, "the call's note is not in the history")

        # The admin, in Chinese (the switch), on every page; the keys page lists the reader's key.
        driver.get(cockpit.base + "/admin/keys")
        check(expected["reader_key_id"] in driver.page_source, "the keys page does not list the reader's key")
        shoot(driver, args.screenshots, "keys-en")
        driver.find_element(By.ID, "language").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans")
        shoot(driver, args.screenshots, "keys-zh")
        for page, path in [("overview", "/"), ("explore", "/explore?" + query), ("segments", "/segments"),
                           ("voice", "/voice"), ("workload", "/workload"), ("experiments", "/experiments"),
                           ("why", "/why?" + why["query"]), ("cases", "/cases"), ("case", "/case?id=" + case_id),
                           ("followups", "/followups")]:
            driver.get(cockpit.base + path)
            check(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans", f"{page} is not in Chinese")
            check_charts(driver, page + " (zh)")
            shoot(driver, args.screenshots, f"{page}-zh")
        driver.get(cockpit.base + "/")
        check(text(driver, 'article[data-kpi="csat"] h3') == "客户满意度", "CSAT is not 客户满意度")
        check(text(driver, 'article[data-kpi="first_response_time"] h3') == "首次响应时长", "first response is not 首次响应时长")
        check(
            text(driver, 'article[data-kpi="first_response_time"] .hours') == "（自然时间）",
            "first response does not say it is in calendar time",
        )
        check(text(driver, 'article[data-kpi="fcr_rate"] h3') == "首次联系解决率", "FCR is not 首次联系解决率")
        check(text(driver, "nav a[aria-current=page]") == "总览", "the navigation is not in Chinese")

        # A phone-sized window (375 px): every page still lays out, in both languages, with
        # no horizontal scrolling of the page (wide tables scroll inside their box).
        driver.set_window_size(375, 1400)
        inner = driver.execute_script("return window.innerWidth;")
        for language in ["zh", "en"]:
            for page, path in [("overview", "/"), ("explore", "/explore?" + query), ("segments", "/segments"),
                               ("voice", "/voice"), ("workload", "/workload"), ("experiments", "/experiments"),
                               ("why", "/why?" + why["query"]), ("cases", "/cases"),
                               ("case", "/case?id=" + urllib.parse.quote(case_id)), ("followups", "/followups"),
                               ("keys", "/admin/keys")]:
                driver.get(cockpit.base + path + ("&" if "?" in path else "?") + "lang=" + language)
                width = driver.execute_script("return document.documentElement.scrollWidth;")
                check(width <= inner, f"{page} ({language}) is {width}px wide in a {inner}px phone window")
                shoot(driver, args.screenshots, f"{page}-phone-{language}")
    finally:
        driver.quit()
    print(f"all cockpit checks passed ({CHECKS[0]} checks)", flush=True)


if __name__ == "__main__":
    main()
