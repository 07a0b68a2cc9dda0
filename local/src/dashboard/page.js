// Draws the dashboard from the documents embedded beside this script: the
// headline figures, then every widget as SVG, the time series binned so that
// any run length gives about 30 to 60 bins. Each document is
// {t: ms since the epoch, m: {metric: [values]}, FunctionName?, Status?, Reason?, UndoneAfterMs?}.
// The figures follow the same rules as `figures` in figures.rs (the Rust side).
(function () {
  "use strict";

  const UNKNOWN = "unknown";
  const STATUS_COLOURS = { DONE: "#2f7d32", ERROR: "#c62828", TIMEOUT: "#e07b00" };
  const REASON_COLOURS = { Deadline: "#8e44ad", Superseded: "#1f77b4" };
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  // Bin widths to choose from, in seconds: the first that gives at most 60 bins.
  const STEPS = [1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const W = 640, WIDE = 1320, H = 230, LEFT = 52, RIGHT = 14, TOP = 12, BOTTOM = 24;

  const values = (doc, metric) => (doc.m && doc.m[metric]) || [];
  const count = (v) => Math.max(0, Math.round(v));
  const total = (doc, metric) => values(doc, metric).reduce((sum, v) => sum + count(v), 0);
  const label = (v) => (v == null ? UNKNOWN : v);
  const esc = (text) => String(text).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");

  // Nearest rank: the value of rank ceil(p·n/100) (1-based, at least 1) of the
  // sorted values; null when there are none. As `nearest_rank` in figures.rs.
  function nearestRank(sorted, p) {
    if (sorted.length === 0) return null;
    const rank = Math.max(1, Math.ceil((Math.min(p, 100) * sorted.length) / 100));
    return sorted[rank - 1];
  }
  const sorted = (list) => list.slice().sort((a, b) => a - b);

  function figures(docs) {
    const f = { runs: 0, byStatus: {}, durations: [], abandoned: {}, late: 0, lagMax: null, malformed: 0 };
    for (const doc of docs) {
      const runs = total(doc, "IntegrationCount");
      if (runs > 0) {
        f.runs += runs;
        const status = label(doc.Status);
        f.byStatus[status] = (f.byStatus[status] || 0) + runs;
      }
      f.durations.push(...values(doc, "IntegrationDuration"));
      const abandoned = total(doc, "AbandonedRuns");
      if (abandoned > 0) {
        const reason = label(doc.Reason);
        f.abandoned[reason] = (f.abandoned[reason] || 0) + abandoned;
      }
      f.late += total(doc, "LateFinishes");
      f.malformed += total(doc, "MalformedRecords");
      for (const lag of values(doc, "StreamLag")) f.lagMax = f.lagMax == null ? lag : Math.max(f.lagMax, lag);
    }
    f.durations = sorted(f.durations);
    return f;
  }

  const number = (v) => (v == null ? "—" : Number.isInteger(v) ? String(v) : v.toFixed(1));

  function headline(f) {
    const set = (name, v) => { document.querySelector('[data-figure="' + name + '"]').textContent = number(v); };
    set("runs", f.runs);
    for (const status of ["DONE", "ERROR", "TIMEOUT"]) set("status-" + status, f.byStatus[status] || 0);
    set("duration-p50", nearestRank(f.durations, 50));
    set("duration-p95", nearestRank(f.durations, 95));
    const reasons = ordered(Object.keys(f.abandoned), ["Deadline", "Superseded"]);
    set("abandoned", reasons.reduce((sum, r) => sum + f.abandoned[r], 0));
    document.getElementById("abandoned-reasons").textContent = reasons.map((r) => r + " " + f.abandoned[r]).join(" · ");
    set("late-finishes", f.late);
    set("stream-lag-max", f.lagMax);
    set("malformed", f.malformed);
  }

  // `keys` with those of `first` first, in that order, then the rest sorted.
  function ordered(keys, first) {
    const known = first.filter((k) => keys.includes(k));
    return known.concat(keys.filter((k) => !first.includes(k)).sort());
  }

  function binning(docs) {
    const times = docs.map((d) => d.t);
    const t0 = times.length ? Math.min(...times) : Date.now();
    const t1 = times.length ? Math.max(...times) : t0;
    let step = STEPS[STEPS.length - 1] * 1000;
    for (const s of STEPS) {
      const ms = s * 1000;
      if (Math.floor(t1 / ms) - Math.floor(t0 / ms) + 1 <= 60) { step = ms; break; }
    }
    const start = Math.floor(t0 / step) * step;
    const n = Math.floor((t1 - start) / step) + 1;
    return { t0, t1, start, step, n, of: (t) => Math.floor((t - start) / step) };
  }

  // Per bin, `reduce` of the values `pick` takes from each document of the bin (null: no value).
  function series(docs, bins, pick, reduce) {
    const lists = Array.from({ length: bins.n }, () => []);
    for (const doc of docs) lists[bins.of(doc.t)].push(...pick(doc));
    return lists.map((list) => (list.length ? reduce(list) : null));
  }
  const sum = (list) => list.reduce((a, b) => a + b, 0);
  const max = (list) => Math.max(...list);

  function niceTop(v, integer) {
    if (!(v > 0)) return { top: integer ? 4 : 1, tick: integer ? 1 : 0.25 };
    const raw = v / 4, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    let tick = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((k) => k >= raw);
    if (integer) tick = Math.max(1, Math.ceil(tick));
    return { top: tick * Math.ceil(v / tick), tick };
  }
  const tickText = (v) => (v >= 1000 ? +(v / 1000).toFixed(1) + "k" : +v.toFixed(2) + "");

  function clock(ms, step) {
    const iso = new Date(ms).toISOString();
    return step >= 60000 ? iso.slice(11, 16) : iso.slice(11, 19);
  }

  // The axes of one chart and its scales: x in time over the bins, y from 0 to `yMax`.
  function frame(bins, yMax, { integer = false, width = W } = {}) {
    const { top, tick } = niceTop(yMax, integer);
    const plotW = width - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
    const span = bins.n * bins.step;
    const x = (t) => LEFT + ((t - bins.start) / span) * plotW;
    const y = (v) => TOP + plotH - (v / top) * plotH;
    const parts = [];
    for (let v = 0; v <= top + tick / 1e6; v += tick) {
      parts.push('<line x1="' + LEFT + '" x2="' + (width - RIGHT) + '" y1="' + y(v) + '" y2="' + y(v) + '" stroke="#e4e7eb"/>');
      parts.push('<text x="' + (LEFT - 6) + '" y="' + (y(v) + 4) + '" text-anchor="end">' + tickText(v) + "</text>");
    }
    const every = Math.max(1, Math.ceil(bins.n / (width > W ? 12 : 6)));
    for (let i = 0; i <= bins.n; i += every) {
      const t = bins.start + i * bins.step;
      parts.push('<line x1="' + x(t) + '" x2="' + x(t) + '" y1="' + (TOP + plotH) + '" y2="' + (TOP + plotH + 4) + '" stroke="#9aa5b1"/>');
      // The last label ends at the axis's end rather than running off the drawing.
      const anchor = x(t) > width - RIGHT - 24 ? "end" : "middle";
      parts.push('<text x="' + x(t) + '" y="' + (H - 6) + '" text-anchor="' + anchor + '">' + clock(t, bins.step) + "</text>");
    }
    parts.push('<line x1="' + LEFT + '" x2="' + (width - RIGHT) + '" y1="' + (TOP + plotH) + '" y2="' + (TOP + plotH) + '" stroke="#9aa5b1"/>');
    const centre = (i) => x(bins.start + (i + 0.5) * bins.step);
    const barWidth = Math.max(1, (plotW / bins.n) * 0.8);
    return { parts, x, y, centre, barWidth, width };
  }

  function svg(fr, body, empty) {
    const note = empty ? '<text class="empty" x="' + fr.width / 2 + '" y="' + H / 2 + '" text-anchor="middle">none in this run</text>' : "";
    return '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + fr.width + " " + H + '" preserveAspectRatio="none">' + fr.parts.join("") + body.join("") + note + "</svg>";
  }

  // Lines through the bins that have a value, a dot on each.
  function lines(fr, list) {
    const body = [];
    for (const s of list) {
      const points = s.values.map((v, i) => (v == null ? null : [fr.centre(i), fr.y(v)])).filter(Boolean);
      if (!points.length) continue;
      const d = points.map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1)).join(" ");
      body.push('<path d="' + d + '" fill="none" stroke="' + s.colour + '" stroke-width="1.8"' + (s.dashed ? ' stroke-dasharray="5 3"' : "") + "/>");
      for (const p of points) body.push('<circle cx="' + p[0].toFixed(1) + '" cy="' + p[1].toFixed(1) + '" r="2.4" fill="' + s.colour + '"/>');
    }
    return body;
  }

  // Bars stacked per bin, in the order of `list`.
  function stacked(fr, list, n) {
    const body = [];
    for (let i = 0; i < n; i++) {
      let base = 0;
      for (const s of list) {
        const v = s.values[i] || 0;
        if (v <= 0) continue;
        const y0 = fr.y(base), y1 = fr.y(base + v);
        body.push('<rect x="' + (fr.centre(i) - fr.barWidth / 2).toFixed(1) + '" y="' + y1.toFixed(1) + '" width="' + fr.barWidth.toFixed(1) + '" height="' + (y0 - y1).toFixed(1) + '" fill="' + s.colour + '"/>');
        base += v;
      }
    }
    return body;
  }

  function hline(fr, value, text) {
    const y = fr.y(value).toFixed(1);
    return '<line x1="' + LEFT + '" x2="' + (fr.width - RIGHT) + '" y1="' + y + '" y2="' + y + '" stroke="#7b8794" stroke-dasharray="2 3"/>' +
      '<text x="' + (fr.width - RIGHT - 4) + '" y="' + (y - 4) + '" text-anchor="end">' + esc(text) + " (" + value + " ms)</text>";
  }

  function put(id, svgText, keys) {
    const widget = document.getElementById(id);
    widget.querySelector(".chart").innerHTML = svgText;
    widget.querySelector(".legend").innerHTML = keys.join("");
  }
  const key = (colour, text, kind) => '<span class="key"><i class="' + (kind || "") + '" style="background:' + colour + ";border-color:" + colour + '"></i>' + esc(text) + "</span>";
  const peak = (list) => Math.max(0, ...list.flatMap((s) => s.values.filter((v) => v != null)));
  const peakStack = (list, n) => Math.max(0, ...Array.from({ length: n }, (_, i) => sum(list.map((s) => s.values[i] || 0))));
  const functions = (docs) => [...new Set(docs.map((d) => label(d.FunctionName)))].sort();
  // One colour per function in every widget, from the functions of all the documents.
  let colourOf = () => PALETTE[0];
  function colourFunctions(docs) {
    const all = functions(docs.filter((d) => d.FunctionName != null));
    colourOf = (fn) => PALETTE[Math.max(0, all.indexOf(fn)) % PALETTE.length];
  }

  function duration(docs, bins) {
    const measured = docs.filter((d) => values(d, "IntegrationDuration").length);
    const list = [];
    const keys = [];
    functions(measured).forEach((fn) => {
      const colour = colourOf(fn);
      const mine = measured.filter((d) => label(d.FunctionName) === fn);
      const pick = (d) => values(d, "IntegrationDuration");
      list.push({ colour, values: series(mine, bins, pick, (l) => nearestRank(sorted(l), 95)) });
      list.push({ colour, dashed: true, values: series(mine, bins, pick, (l) => nearestRank(sorted(l), 50)) });
      keys.push(key(colour, fn + " p95"), key(colour, fn + " p50", "dashed"));
    });
    const fr = frame(bins, Math.max(peak(list), 20000) * 1.05);
    const body = [hline(fr, 8000, "Connect's function limit"), hline(fr, 20000, "Longest rule timeout")].concat(lines(fr, list));
    put("duration", svg(fr, body, !measured.length), keys);
  }

  function outcomes(docs, bins) {
    const counted = docs.filter((d) => total(d, "IntegrationCount") > 0);
    const statuses = ordered([...new Set(counted.map((d) => label(d.Status)))], ["DONE", "ERROR", "TIMEOUT"]);
    const list = statuses.map((status, k) => ({
      name: status,
      colour: STATUS_COLOURS[status] || PALETTE[(k + 4) % PALETTE.length],
      values: series(counted.filter((d) => label(d.Status) === status), bins, (d) => [total(d, "IntegrationCount")], sum),
    }));
    const fr = frame(bins, peakStack(list, bins.n), { integer: true });
    put("outcomes", svg(fr, stacked(fr, list, bins.n), !counted.length), list.map((s) => key(s.colour, s.name + ": " + sum(s.values.filter(Boolean)), "block")));
  }

  function byFunction(docs, bins) {
    const counted = docs.filter((d) => total(d, "IntegrationCount") > 0);
    const pairs = [...new Set(counted.map((d) => label(d.FunctionName) + "\u0000" + label(d.Status)))].sort();
    const list = pairs.map((pair, k) => {
      const [fn, status] = pair.split("\u0000");
      const mine = counted.filter((d) => label(d.FunctionName) === fn && label(d.Status) === status);
      const perBin = series(mine, bins, (d) => [total(d, "IntegrationCount")], sum).map((v) => v || 0);
      return { name: fn + " · " + status, colour: PALETTE[k % PALETTE.length], values: perBin };
    });
    const fr = frame(bins, peak(list), { integer: true });
    put("by-function", svg(fr, lines(fr, list), !counted.length), list.map((s) => key(s.colour, s.name + ": " + sum(s.values))));
  }

  function abandoned(docs, bins) {
    const counted = docs.filter((d) => total(d, "AbandonedRuns") > 0);
    const reasons = ordered([...new Set(counted.map((d) => label(d.Reason)))], ["Deadline", "Superseded"]);
    const list = reasons.map((reason, k) => ({
      name: reason,
      colour: REASON_COLOURS[reason] || PALETTE[(k + 6) % PALETTE.length],
      values: series(counted.filter((d) => label(d.Reason) === reason), bins, (d) => [total(d, "AbandonedRuns")], sum),
    }));
    const fr = frame(bins, peakStack(list, bins.n), { integer: true });
    const keys = list.length ? list.map((s) => key(s.colour, s.name + ": " + sum(s.values.filter(Boolean)), "block")) : [key(REASON_COLOURS.Deadline, "Deadline: 0", "block"), key(REASON_COLOURS.Superseded, "Superseded: 0", "block")];
    put("abandoned", svg(fr, stacked(fr, list, bins.n), !counted.length), keys);
  }

  function lag(docs, bins) {
    const measured = docs.filter((d) => values(d, "StreamLag").length);
    const list = [{ colour: "#1f77b4", values: series(measured, bins, (d) => values(d, "StreamLag"), max) }];
    const fr = frame(bins, peak(list) * 1.1);
    put("lag", svg(fr, lines(fr, list), !measured.length), [key("#1f77b4", "Oldest record of a batch, when processed (max per bin)")]);
  }

  function malformed(docs, bins) {
    const counted = docs.filter((d) => total(d, "MalformedRecords") > 0);
    const list = [{ colour: "#c62828", values: series(counted, bins, (d) => [total(d, "MalformedRecords")], sum) }];
    const fr = frame(bins, peakStack(list, bins.n), { integer: true });
    put("malformed", svg(fr, stacked(fr, list, bins.n), !counted.length), [key("#c62828", "Malformed records skipped: " + sum(list[0].values.filter(Boolean)), "block")]);
  }

  function late(docs, bins) {
    const undone = docs.filter((d) => total(d, "LateFinishes") > 0);
    const stood = undone.filter((d) => typeof d.UndoneAfterMs === "number");
    const fr = frame(bins, Math.max(0, ...stood.map((d) => d.UndoneAfterMs)) * 1.1, { width: WIDE });
    const body = [];
    const keys = [];
    functions(undone).forEach((fn) => {
      const colour = colourOf(fn);
      const mine = undone.filter((d) => label(d.FunctionName) === fn);
      for (const d of mine) {
        const known = typeof d.UndoneAfterMs === "number";
        body.push('<circle cx="' + fr.x(d.t).toFixed(1) + '" cy="' + fr.y(known ? d.UndoneAfterMs : 0).toFixed(1) + '" r="4.5" ' +
          (known ? 'fill="' + colour + '"' : 'fill="none" stroke="' + colour + '" stroke-width="1.5"') + "/>");
      }
      keys.push(key(colour, fn + ": " + sum(mine.map((d) => total(d, "LateFinishes"))), "block"));
    });
    const unknown = undone.length - stood.length;
    if (unknown) keys.push('<span class="key">hollow: ' + unknown + " without a recorded time (drawn at 0)</span>");
    put("late", svg(fr, body, !undone.length), keys);
  }

  function draw() {
    const docs = JSON.parse(document.getElementById("documents").textContent);
    const f = figures(docs);
    headline(f);
    colourFunctions(docs);
    const bins = binning(docs);
    const seconds = bins.step / 1000;
    document.getElementById("range").textContent = docs.length
      ? docs.length + " metric documents from " + new Date(bins.t0).toISOString().replace("T", " ").slice(0, 19) + " to " +
        clock(bins.t1, 1000) + " UTC, in " + bins.n + " bins of " + (seconds >= 60 ? seconds / 60 + " min" : seconds + " s") + "."
      : "No metric documents: nothing was measured.";
    for (const widget of [duration, outcomes, byFunction, abandoned, lag, malformed, late]) widget(docs, bins);
  }

  try {
    draw();
    document.body.dataset.drawn = "yes";
  } catch (err) {
    document.body.dataset.drawn = "failed";
    const range = document.getElementById("range");
    range.className = "sub failed";
    range.textContent = "The dashboard could not be drawn: " + err;
  }
})();
