import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One logged row: the step and any number of named values (`loss/vtc`, `lr`, `eval/t2v_r1`, …). */
export type LogRow = { step: number } & Record<string, number>;

interface Panel {
  title: string;
  keys: string[];
  log: boolean;
}

/** Losses together (log scale), the learning rate alone, evaluation metrics together, anything else together. */
function panels(rows: LogRow[]): Panel[] {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (k !== 'step' && Number.isFinite(r[k])) keys.add(k);
  const all = [...keys].sort();
  const pick = (f: (k: string) => boolean) => all.filter(f);
  const out: Panel[] = [
    { title: 'loss', keys: pick((k) => k.startsWith('loss')), log: true },
    { title: 'learning rate', keys: pick((k) => k === 'lr'), log: false },
    { title: 'evaluation', keys: pick((k) => k.startsWith('eval/')), log: false },
    { title: 'other', keys: pick((k) => !k.startsWith('loss') && k !== 'lr' && !k.startsWith('eval/') && !k.startsWith('time/')), log: false },
  ];
  return out.filter((p) => p.keys.length);
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : Number(v.toPrecision(3)).toString();
}

/** A self-contained SVG image of the curves: one panel per group, polylines, axes with min/max labels. */
export function curvesSvg(rows: LogRow[], title = 'training'): string {
  const ps = panels(rows);
  const W = 720, H = 220, M = { l: 64, r: 170, t: 26, b: 28 };
  const parts: string[] = [];
  ps.forEach((p, pi) => {
    const y0 = pi * H;
    const pts = p.keys.map((k) => rows.filter((r) => Number.isFinite(r[k]) && (!p.log || r[k] > 0)).map((r) => [r.step, r[k]] as [number, number]));
    const xs = pts.flat().map((q) => q[0]);
    const ys = pts.flat().map((q) => (p.log ? Math.log10(q[1]) : q[1]));
    if (!xs.length) return;
    const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
    let [ymin, ymax] = [Math.min(...ys), Math.max(...ys)];
    if (ymin === ymax) [ymin, ymax] = [ymin - 1, ymax + 1];
    const sx = (x: number) => M.l + ((x - xmin) / (xmax - xmin || 1)) * (W - M.l - M.r);
    const sy = (y: number) => y0 + M.t + (1 - (y - ymin) / (ymax - ymin)) * (H - M.t - M.b);
    const ylab = (y: number) => fmt(p.log ? 10 ** y : y);
    parts.push(
      `<text x="${M.l}" y="${y0 + 16}" font-size="13" font-weight="bold">${p.title}${p.log ? ' (log scale)' : ''}</text>`,
      `<rect x="${M.l}" y="${y0 + M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`,
      `<text x="${M.l - 4}" y="${sy(ymax) + 4}" font-size="10" text-anchor="end">${ylab(ymax)}</text>`,
      `<text x="${M.l - 4}" y="${sy(ymin)}" font-size="10" text-anchor="end">${ylab(ymin)}</text>`,
      `<text x="${M.l}" y="${y0 + H - 12}" font-size="10">${xmin}</text>`,
      `<text x="${W - M.r}" y="${y0 + H - 12}" font-size="10" text-anchor="end">step ${xmax}</text>`,
    );
    pts.forEach((series, i) => {
      const color = COLORS[i % COLORS.length];
      const d = series.map(([x, y]) => `${sx(x).toFixed(1)},${sy(p.log ? Math.log10(y) : y).toFixed(1)}`).join(' ');
      if (series.length === 1) parts.push(`<circle cx="${d.split(',')[0]}" cy="${d.split(',')[1]}" r="2.5" fill="${color}"/>`);
      else parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.3" points="${d}"/>`);
      const last = series[series.length - 1];
      parts.push(`<text x="${W - M.r + 8}" y="${y0 + M.t + 12 + i * 14}" font-size="11" fill="${color}">${p.keys[i]} ${last ? fmt(last[1]) : ''}</text>`);
    });
  });
  const h = Math.max(1, ps.length) * H;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif"><title>${title}</title><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  if (!uplotAssets) {
    const req = createRequire(import.meta.url);
    const dist = dirname(req.resolve('uplot/dist/uPlot.iife.min.js'));
    uplotAssets = { js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8') };
  }
  return uplotAssets;
}

/** A self-contained HTML page (uPlot and the data inlined, works offline) with one zoomable chart per panel. */
export function curvesHtml(rows: LogRow[], title = 'training'): string {
  const { js, css } = uplot();
  const charts = panels(rows).map((p) => {
    const steps = [...new Set(rows.filter((r) => p.keys.some((k) => Number.isFinite(r[k]))).map((r) => r.step))].sort((a, b) => a - b);
    const byStep = new Map<number, LogRow>();
    for (const r of rows) byStep.set(r.step, { ...byStep.get(r.step), ...r });
    const data = [steps, ...p.keys.map((k) => steps.map((s) => (Number.isFinite(byStep.get(s)?.[k]) ? byStep.get(s)![k] : null)))];
    return { title: p.title, keys: p.keys, log: p.log, data };
  });
  const esc = (s: string) => s.replace(/</g, '\\u003c');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>${css} body{font-family:sans-serif;margin:16px}</style></head>
<body><h2>${title}</h2><div id="charts"></div><script>${js}</script><script>
const charts = ${esc(JSON.stringify(charts))};
const colors = ${JSON.stringify(COLORS)};
for (const c of charts) {
  const el = document.createElement('div'); document.getElementById('charts').appendChild(el);
  new uPlot({ title: c.title, width: Math.min(960, innerWidth - 40), height: 260,
    scales: { x: { time: false }, y: c.log ? { distr: 3 } : {} },
    series: [{ label: 'step' }, ...c.keys.map((k, i) => ({ label: k, stroke: colors[i % colors.length], spanGaps: true, points: { show: c.data[0].length < 40 } }))],
  }, c.data, el);
}
</script></body></html>
`;
}

/** Writes `curves.html` and `curves.svg` into `dir` (atomically) and returns their paths. */
export async function writeCurves(dir: string, rows: LogRow[], title?: string): Promise<{ html: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const html = join(dir, 'curves.html');
  const svg = join(dir, 'curves.svg');
  for (const [path, text] of [[html, curvesHtml(rows, title)], [svg, curvesSvg(rows, title)]] as const) {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, path);
  }
  return { html, svg };
}

/** Reads a JSON-lines log back into rows (lines that do not parse, e.g. a line cut by a kill, are skipped). */
export function readLogRows(path: string): LogRow[] {
  const rows: LogRow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line);
      if (typeof j.step !== 'number') continue;
      const row: LogRow = { step: j.step };
      for (const [k, v] of Object.entries(j)) if (typeof v === 'number') row[k] = v;
      rows.push(row);
    } catch {
      // a torn last line
    }
  }
  return rows;
}
