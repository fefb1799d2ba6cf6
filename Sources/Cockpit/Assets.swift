/// The cockpit's two static files, served from memory: a stylesheet (laptop and phone,
/// contrast of at least 4.5:1 for text) and the one small script (live refresh). No
/// build chain: they are written by hand and kept here.
enum Assets {
  static let css = """
    :root { --ink: #1c1f23; --muted: #4b5563; --line: #d1d5db; --bg: #f7f7f5; --card: #ffffff; --accent: #1f5fbf;
            --green: #166534; --amber: #92400e; --red: #991b1b; font-family: "Noto Sans", "Noto Sans CJK SC", system-ui, sans-serif; }
    * { box-sizing: border-box; }
    body { margin: 0; color: var(--ink); background: var(--bg); line-height: 1.45; }
    header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1rem; background: #12263f; color: #fff; }
    header a, header button { color: #fff; }
    .brand { font-size: 1.05rem; }
    nav { display: flex; flex-wrap: wrap; gap: .25rem .9rem; }
    nav a { text-decoration: none; padding: .15rem 0; }
    nav a[aria-current="page"] { border-bottom: 2px solid #fff; font-weight: 600; }
    .tools { margin-left: auto; display: flex; gap: 1rem; align-items: center; }
    .tools form { margin: 0; }
    button, .button { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: .35rem .8rem; cursor: pointer; text-decoration: none; display: inline-block; }
    header button { background: transparent; border: 1px solid #fff; }
    main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
    h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
    h2 { font-size: 1.15rem; margin: 1.5rem 0 .6rem; }
    h3 { font-size: 1rem; margin: 0 0 .3rem; }
    .meta, .periods { color: var(--muted); }
    .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: .8rem; }
    .cards.wide { grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); }
    .card, .scorecard, .chart-box, .experiment { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .8rem; margin: 0; }
    .card { border-top: 5px solid var(--line); }
    .card.green { border-top-color: var(--green); } .card.amber { border-top-color: #d97706; } .card.red { border-top-color: var(--red); }
    .card .value { font-size: 1.6rem; font-weight: 650; margin: .1rem 0; }
    .card p { margin: .15rem 0; }
    .light { display: inline-block; width: .8rem; height: .8rem; border-radius: 50%; margin-right: .35rem; vertical-align: -1px; background: var(--line); }
    .green .light { background: var(--green); } .amber .light { background: #d97706; } .red .light { background: var(--red); }
    .good { color: var(--green); font-weight: 600; } .bad { color: var(--red); font-weight: 600; } .neutral, .was, .sample { color: var(--muted); }
    .alerts { list-style: none; padding: 0; margin: 0; }
    .alerts li { padding: .45rem .7rem; border-left: 5px solid #d97706; background: #fff7ed; margin-bottom: .35rem; }
    .alerts li.critical { border-left-color: var(--red); background: #fef2f2; }
    .ok { color: var(--green); }
    .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: .8rem; }
    .chart-box.wide { margin: .8rem 0; }
    figcaption { font-weight: 600; margin-bottom: .3rem; }
    svg.chart { width: 100%; height: auto; display: block; }
    svg .marker { stroke: var(--muted); stroke-dasharray: 5 3; stroke-width: 1.5; }
    svg .grid { stroke: #e5e7eb; } svg .zero { stroke: var(--muted); stroke-dasharray: 4 3; }
    svg .axis { font-size: 11px; fill: var(--muted); }
    svg .partial { fill: #eef0f3; }
    svg.heatmap { max-width: 760px; } svg .cell.empty { fill: #fafafa; stroke: #e5e7eb; }
    svg .cell.small { stroke: #b45309; stroke-width: 1.5; stroke-dasharray: 2 2; }
    .filters textarea { font: inherit; font-size: .85rem; }
    .note { color: var(--muted); font-size: .9em; }
    .small-n { font-style: italic; color: var(--muted); }
    .text { white-space: normal; }
    .legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .2rem 1rem; font-size: .85rem; }
    .swatch { display: inline-block; margin-right: .3rem; vertical-align: middle; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
    dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
    .overdue { color: var(--red); } form.open-case { display: inline; margin-left: .5rem; }
    article.followup { border-top: 1px solid #e5e7eb; padding-top: .5rem; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; background: var(--card); margin: .5rem 0; font-size: .92rem; }
    caption { text-align: left; color: var(--muted); padding: .2rem 0; }
    th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
    .num { text-align: right; font-variant-numeric: tabular-nums; }
    .filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
    .filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
    select, input { font: inherit; padding: .25rem; }
    .examples { margin: 0; padding-left: 1rem; text-align: left; }
    svg.mix { vertical-align: middle; } svg.mix .negative { fill: var(--red); } svg.mix .neutral { fill: #d1d5db; }
    svg.mix .positive { fill: var(--green); }
    .verdict strong { text-transform: uppercase; }
    .verdict.better strong { color: var(--green); } .verdict.worse strong { color: var(--red); }
    .muted { color: var(--muted); font-size: .9em; }
    .unavailable, .problem { color: var(--red); }
    .bare main { max-width: 28rem; margin-top: 3rem; }
    .signin { display: flex; flex-direction: column; gap: .5rem; }
    @media (max-width: 600px) { header { padding: .5rem; } .tools { margin-left: 0; } main { padding: .6rem; } .charts, .cards.wide { grid-template-columns: 1fr; }
      .filters label { flex: 1 1 40%; } .filters select, .filters input { width: 100%; } }
    """

  static let script = """
    // Live pages (data-live on <body>) reload when the server says the data or the open
    // alerts changed (server-sent events). Everything else works without this script.
    (function () {
      var url = document.body.getAttribute('data-live');
      if (!url || !window.EventSource) return;
      var source = new EventSource(url);
      source.addEventListener('refresh', function () { source.close(); window.location.reload(); });
    })();
    """
}
