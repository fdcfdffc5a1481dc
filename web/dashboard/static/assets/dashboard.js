// Lindung ministry dashboard. Calls the hub's GraphQL API (same origin) with the analyst's token and draws
// each statistics panel as a chart with a table as its text alternative. The token lives in this tab's
// sessionStorage only (never localStorage): it may also arrive in the URL fragment (#token=...), which
// never reaches the server and is removed from the address bar at once.
"use strict";
(function () {
  const QUERY = `query Dashboard($filter: StatisticsFilter) {
  statistics(filter: $filter) {
    threshold roundingBase exactCounts
    byTraffickingStatus { ...B } byExploitationType { ...B } bySector { ...B } byGender { ...B }
    byAgeBand { ...B } byCitizenship { ...B } byState { ...B } byMonth { ...B }
    occupancyByState { ...O } occupancyByOrderType { ...O }
    orders { expiringWithinDays active { ...B } expiring { ...B } }
    services { byService { ...B } byProvider { ...B } }
    referralTurnaround { toAccept { ...B } toComplete { ...B } }
  }
}
fragment C on StatCell { key label count suppressed medianDays }
fragment B on Breakdown { multiValued total { ...C } cells { ...C } }
fragment OC on OccupancyCell { key label shelters capacity occupancy suppressed }
fragment O on OccupancyBreakdown { total { ...OC } cells { ...OC } }`;

  const STATES = ["JOHOR", "KEDAH", "KELANTAN", "MELAKA", "NEGERI_SEMBILAN", "PAHANG", "PERAK", "PERLIS",
    "PULAU_PINANG", "SABAH", "SARAWAK", "SELANGOR", "TERENGGANU", "KUALA_LUMPUR", "LABUAN", "PUTRAJAYA"];
  const COLOURS = { bar: "#0b5394", second: "#6a3d9a", line: "#0b5394" };
  const $ = (id) => document.getElementById(id);
  const charts = [];
  let k = 5;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [a, v] of Object.entries(attrs || {})) {
      if (a === "class") e.className = v; else e.setAttribute(a, v);
    }
    for (const c of children) e.append(c);
    return e;
  }
  const titleCase = (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase().replace(/_/g, " ");

  // hatch returns a diagonal-stripe fill for suppressed bars: shape, not colour alone, marks them.
  function hatch() {
    const c = document.createElement("canvas");
    c.width = c.height = 8;
    const g = c.getContext("2d");
    g.fillStyle = "#fff4e0"; g.fillRect(0, 0, 8, 8);
    g.strokeStyle = "#8a5a00"; g.lineWidth = 2;
    g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.stroke();
    return g.createPattern(c, "repeat");
  }

  function countText(c, field) {
    const v = field ? c[field] : c.count;
    return c.suppressed ? `suppressed (<${k})` : String(v);
  }

  // table renders a breakdown as text: the chart's accessible alternative, and what the browser test reads.
  function table(id, caption, rows, columns) {
    const head = el("tr", {}, ...columns.map((col) => el("th", { scope: "col", class: col.num ? "num" : "" }, col.title)));
    const body = rows.map((r) => {
      const tr = el("tr", { "data-panel": id, "data-key": r.key, "data-suppressed": String(!!r.suppressed),
        "data-count": r.suppressed ? "" : String(r.count ?? r.occupancy ?? "") });
      if (r.key === "TOTAL") tr.className = "total";
      columns.forEach((col, i) => {
        const text = col.get(r);
        const cell = el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : { class: col.num ? "num" : "" }, text);
        if (col.suppressible && r.suppressed) cell.classList.add("suppressed");
        tr.append(cell);
      });
      return tr;
    });
    return el("details", {}, el("summary", {}, "Table: " + caption),
      el("table", {}, el("caption", { class: "note" }, caption), el("thead", {}, head), el("tbody", {}, ...body)));
  }

  function describe(rows, field) {
    return rows.map((r) => `${r.label}: ${r.suppressed ? "suppressed" : (field ? r[field] : r.count)}`).join("; ");
  }

  function panel(id, title, wide) {
    const h = el("h2", { id: id + "-title" }, title);
    const s = el("section", { class: "panel" + (wide ? " wide" : ""), "aria-labelledby": id + "-title", id: id });
    s.append(h);
    $("panels").append(s);
    return s;
  }

  // barPanel draws one breakdown. Suppressed cells are drawn as hatched bars at height k and labelled.
  function barPanel(id, title, b, opts) {
    opts = opts || {};
    if (!b) return;
    const s = panel(id, title, opts.wide);
    const cells = b.cells.filter((c) => !opts.skipZero || c.suppressed || c.count > 0);
    const field = opts.field;
    const value = (c) => (c.suppressed ? k : (field ? c[field] : c.count));
    const canvas = el("canvas", { role: "img", "aria-label": `${title}. ${describe(cells, field)}` });
    s.append(el("div", { class: "chart" }, canvas));
    const pattern = hatch();
    charts.push(new Chart(canvas, {
      type: "bar",
      data: {
        labels: cells.map((c) => c.suppressed ? `${c.label} (suppressed)` : c.label),
        datasets: [{
          label: opts.seriesLabel || "Cases", data: cells.map(value),
          backgroundColor: cells.map((c) => (c.suppressed ? pattern : COLOURS.bar)),
          borderColor: cells.map((c) => (c.suppressed ? "#8a5a00" : COLOURS.bar)), borderWidth: 1,
        }],
      },
      options: {
        animation: false, maintainAspectRatio: false, indexAxis: opts.horizontal ? "y" : "x",
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          label: (ctx) => countText(cells[ctx.dataIndex], field) } } },
        scales: { x: { ticks: { color: "#1b1b1b" } }, y: { beginAtZero: true, ticks: { color: "#1b1b1b" } } },
      },
    }));
    const rows = cells.concat([b.total]);
    const cols = [{ title: opts.keyTitle || "Category", get: (r) => r.label },
      { title: opts.countTitle || "Count", num: true, suppressible: true, get: (r) => countText(r) }];
    if (field) cols.push({ title: "Median days", num: true, suppressible: true,
      get: (r) => (r.suppressed ? `suppressed (<${k})` : (r.medianDays == null ? "–" : r.medianDays.toFixed(1))) });
    s.append(table(id, title + (b.multiValued ? " (a case may count in several rows)" : ""), rows, cols));
  }

  function trendPanel(b) {
    if (!b) return;
    const s = panel("byMonth", "Cases identified per month", true);
    const canvas = el("canvas", { role: "img", "aria-label": "Cases identified per month. " + describe(b.cells) });
    s.append(el("div", { class: "chart" }, canvas));
    charts.push(new Chart(canvas, {
      type: "line",
      data: { labels: b.cells.map((c) => c.label), datasets: [{
        label: "Cases identified", data: b.cells.map((c) => (c.suppressed ? null : c.count)),
        borderColor: COLOURS.line, backgroundColor: COLOURS.line, spanGaps: false,
        pointStyle: "circle", pointRadius: 3 }] },
      options: { animation: false, maintainAspectRatio: false,
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => countText(b.cells[ctx.dataIndex]) } } },
        scales: { y: { beginAtZero: true } } },
    }));
    s.append(el("p", { class: "note" }, "Gaps in the line are suppressed months."));
    s.append(table("byMonth", "Cases identified per month", b.cells.concat([b.total]),
      [{ title: "Month", get: (r) => r.label }, { title: "Cases", num: true, suppressible: true, get: (r) => countText(r) }]));
  }

  function occupancyPanel(id, title, o) {
    if (!o) return;
    const s = panel(id, title, id === "occupancyByState");
    const cells = o.cells.filter((c) => c.shelters > 0 || c.suppressed || (c.occupancy ?? 0) > 0);
    const canvas = el("canvas", { role: "img", "aria-label": `${title}. ` + cells.map((c) =>
      `${c.label}: ${c.suppressed ? "suppressed" : c.occupancy} of ${c.capacity} places`).join("; ") });
    s.append(el("div", { class: "chart" }, canvas));
    const pattern = hatch();
    charts.push(new Chart(canvas, {
      type: "bar",
      data: { labels: cells.map((c) => c.suppressed ? `${c.label} (suppressed)` : c.label), datasets: [
        { label: "Places", data: cells.map((c) => c.capacity), backgroundColor: "#9fc5e8", borderColor: COLOURS.bar, borderWidth: 1 },
        { label: "Residents", data: cells.map((c) => (c.suppressed ? k : c.occupancy)),
          backgroundColor: cells.map((c) => (c.suppressed ? pattern : COLOURS.second)), borderColor: COLOURS.second, borderWidth: 1 },
      ] },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
    }));
    s.append(table(id, title, o.cells.concat([o.total]), [
      { title: "Group", get: (r) => r.label },
      { title: "Shelters", num: true, get: (r) => String(r.shelters) },
      { title: "Places", num: true, get: (r) => String(r.capacity) },
      { title: "Residents", num: true, suppressible: true, get: (r) => countText(r, "occupancy") },
    ]));
  }

  function render(st) {
    charts.splice(0).forEach((c) => c.destroy());
    $("panels").replaceChildren();
    k = st.threshold;
    document.querySelectorAll("[data-k]").forEach((e) => { e.textContent = String(k); });
    barPanel("byState", "Cases by state", st.byState, { wide: true, keyTitle: "State" });
    trendPanel(st.byMonth);
    barPanel("byTraffickingStatus", "Cases by trafficking status", st.byTraffickingStatus);
    barPanel("byExploitationType", "Cases by exploitation type", st.byExploitationType);
    barPanel("bySector", "Cases by sector", st.bySector);
    barPanel("byGender", "Cases by gender", st.byGender);
    barPanel("byAgeBand", "Cases by age band", st.byAgeBand);
    barPanel("byCitizenship", "Cases by citizenship", st.byCitizenship);
    occupancyPanel("occupancyByState", "Shelter occupancy by state", st.occupancyByState);
    occupancyPanel("occupancyByOrderType", "Shelter occupancy by order type", st.occupancyByOrderType);
    if (st.orders) {
      barPanel("ordersActive", "Protection orders in force", st.orders.active, { seriesLabel: "Orders", countTitle: "Orders" });
      barPanel("ordersExpiring", `Orders ending within ${st.orders.expiringWithinDays} days`, st.orders.expiring,
        { seriesLabel: "Orders", countTitle: "Orders" });
    }
    if (st.services) {
      barPanel("servicesByService", "Services delivered by service", st.services.byService, { countTitle: "Services" });
      barPanel("servicesByProvider", "Services delivered by provider", st.services.byProvider, { countTitle: "Services" });
    }
    if (st.referralTurnaround) {
      barPanel("turnaroundAccept", "Referral turnaround: median days to accept", st.referralTurnaround.toAccept,
        { field: "medianDays", countTitle: "Referrals", keyTitle: "Partner" });
      barPanel("turnaroundComplete", "Referral turnaround: median days to complete", st.referralTurnaround.toComplete,
        { field: "medianDays", countTitle: "Referrals", keyTitle: "Partner" });
    }
    document.body.setAttribute("data-ready", "true");
  }

  function status(text, error) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", !!error);
  }

  async function load() {
    const token = $("token").value.trim();
    if (!token) { status("Paste an access token first.", true); $("token").focus(); return; }
    sessionStorage.setItem("lindung.token", token);
    const filter = {};
    if ($("from").value) filter.from = $("from").value;
    if ($("to").value) filter.to = $("to").value;
    if ($("state").value) filter.state = $("state").value;
    status("Loading statistics…");
    $("main").setAttribute("aria-busy", "true");
    try {
      const res = await fetch("../graphql", {
        method: "POST", credentials: "omit",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token, "X-Lindung-Purpose": "STATISTICS" },
        body: JSON.stringify({ query: QUERY, variables: { filter }, operationName: "Dashboard" }),
      });
      const body = await res.json();
      if (body.errors && !(body.data && body.data.statistics)) {
        status("The hub refused: " + body.errors.map((e) => e.message).join("; "), true);
        return;
      }
      render(body.data.statistics);
      const notes = (body.errors || []).map((e) => e.message);
      status(`Statistics loaded. Counts below ${k} are suppressed.` + (notes.length ? " Some panels are unavailable: " + notes.join("; ") : ""));
    } catch (e) {
      status("Could not reach the hub: " + e.message, true);
    } finally {
      $("main").setAttribute("aria-busy", "false");
    }
  }

  function init() {
    for (const s of STATES) $("state").append(el("option", { value: s }, titleCase(s)));
    const frag = new URLSearchParams(location.hash.slice(1));
    if (frag.get("token")) {
      sessionStorage.setItem("lindung.token", frag.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    const saved = sessionStorage.getItem("lindung.token");
    $("controls").addEventListener("submit", (e) => { e.preventDefault(); load(); });
    if (saved) { $("token").value = saved; load(); }
  }
  init();
})();
