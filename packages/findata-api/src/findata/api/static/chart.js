// The findata chart page: reads the form, fetches the API's JSON (every Link page) and draws
// candles, volume and the chosen indicators with TradingView Lightweight Charts.
// The page's state (controls, overlays) lives in the URL fragment, so a chart is a link.
'use strict';

const LWC = window.LightweightCharts;
const CONFIG = JSON.parse(document.getElementById('chart-config').textContent);
const form = document.getElementById('controls');
const box = document.getElementById('chart');
const statusLine = document.getElementById('status');
const errorLine = document.getElementById('error');
const KEY_STORAGE = 'findata.apiKey';
const UP = '#26a69a';
const DOWN = '#ef5350';
const PALETTE = ['#2962ff', '#ff6d00', '#8e24aa', '#00897b', '#c2185b', '#6d4c41'];
const cache = new Map(); // request URL -> rows of every page
let chart = null;

// What tests and curious people can inspect: the chart and its series by name.
window.findataChart = { series: new Map(), get chart() { return chart; } };

class ApiProblem extends Error {
  constructor(problem) {
    super([problem.title, problem.detail].filter(Boolean).join(': '));
    this.problem = problem;
  }
}

function symbolFromPath() {
  const tail = location.pathname.split('/chart/')[1] || '';
  return decodeURIComponent(tail);
}

// --- state: form <-> URL fragment ---------------------------------------------------------

function readState() {
  const state = new URLSearchParams();
  for (const field of form.querySelectorAll('[data-state]')) {
    if (field.name === 'symbol') continue;
    const shown = field.type === 'checkbox' ? field.checked : field.value !== field.defaultValue;
    if (shown && field.value !== '') state.append(field.name, field.value);
  }
  return state;
}

function applyState(state) {
  for (const field of form.querySelectorAll('[data-state]')) {
    if (field.name === 'symbol') continue;
    if (field.type === 'checkbox') field.checked = state.getAll(field.name).includes(field.value);
    else if (state.has(field.name)) field.value = state.get(field.name);
  }
}

// --- the API ------------------------------------------------------------------------------

function headers() {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { 'X-API-Key': key } : {};
}

function nextLink(header) {
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header || '');
  return match ? match[1] : null;
}

async function rowsOf(path, params) {
  const first = `${path}?${params}`;
  if (cache.has(first)) return cache.get(first);
  const rows = [];
  for (let url = first; url; ) {
    const response = await fetch(url, { headers: headers() });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({ title: response.statusText }));
      if (response.status === 401) form.querySelector('#key-field').hidden = false;
      throw new ApiProblem({ status: response.status, ...problem });
    }
    for (const row of await response.json()) rows.push(row);
    url = nextLink(response.headers.get('Link'));
  }
  cache.set(first, rows);
  return rows;
}

function seriesParams(state) {
  const params = new URLSearchParams();
  for (const field of form.querySelectorAll('[data-param]')) {
    if (state.get(field.name)) params.set(field.name, state.get(field.name));
  }
  return params;
}

// --- drawing ------------------------------------------------------------------------------

// Dates stay business days; instants keep the exchange's wall clock (the chart shows UTC).
function chartTime(value) {
  if (value.length === 10) return value;
  const [date, clock] = value.split('T');
  const [year, month, day] = date.split('-').map(Number);
  const [hour, minute, second] = clock.slice(0, 8).split(':').map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second || 0) / 1000;
}

function timeOf(row) {
  return chartTime(row.period_start ?? row.timestamp ?? row.date);
}

function draw(bars, indicators) {
  const range = chart && chart.timeScale().getVisibleLogicalRange();
  if (chart) chart.remove();
  window.findataChart.series.clear();
  const intraday = bars.length > 0 && typeof timeOf(bars[0]) === 'number';
  chart = LWC.createChart(box, {
    autoSize: true,
    layout: { attributionLogo: true },
    timeScale: { timeVisible: intraday, secondsVisible: false },
  });
  const add = (name, kind, options, pane, data) => {
    const series = chart.addSeries(kind, options, pane);
    series.setData(data);
    window.findataChart.series.set(name, series);
    return series;
  };
  add('candles', LWC.CandlestickSeries, { upColor: UP, downColor: DOWN, wickUpColor: UP,
    wickDownColor: DOWN, borderVisible: false }, 0,
    bars.map((bar) => ({ time: timeOf(bar), open: bar.open, high: bar.high, low: bar.low,
      close: bar.close })));
  add('volume', LWC.HistogramSeries, { priceFormat: { type: 'volume' } }, 1,
    bars.map((bar) => ({ time: timeOf(bar), value: bar.volume,
      color: bar.close >= bar.open ? UP : DOWN })));
  let pane = 2;
  let color = 0;
  for (const [overlay, rows] of indicators) {
    const index = overlay.pane === 'price' ? 0 : pane++;
    for (const output of overlay.outputs) {
      const histogram = output.endsWith('_hist');
      const series = add(output, histogram ? LWC.HistogramSeries : LWC.LineSeries,
        { color: histogram ? '#90a4ae' : PALETTE[color++ % PALETTE.length], lineWidth: 1,
          title: output, priceLineVisible: false, lastValueVisible: !histogram }, index,
        rows.map((row) => ({ time: timeOf(row), value: row[output] })));
      for (const level of overlay.levels) {
        series.createPriceLine({ price: level, color: '#9e9e9e', lineStyle: LWC.LineStyle.Dashed,
          axisLabelVisible: true });
      }
    }
  }
  chart.panes().forEach((each, index) => each.setStretchFactor(index === 0 ? 4 : 1));
  if (range) chart.timeScale().setVisibleLogicalRange(range);
  else chart.timeScale().fitContent();
}

// --- the page's life ----------------------------------------------------------------------

function report(kind, text) {
  document.body.dataset.state = kind;
  statusLine.textContent = kind === 'error' ? '' : text;
  errorLine.hidden = kind !== 'error';
  errorLine.textContent = kind === 'error' ? text : '';
}

async function render() {
  const symbol = symbolFromPath();
  const state = readState();
  history.replaceState(null, '', `#${state}`);
  if (!symbol) return report('ready', 'Pick a symbol.');
  document.title = `${symbol} · findata`;
  report('loading', `Loading ${symbol}…`);
  const path = encodeURIComponent(symbol);
  const params = seriesParams(state);
  try {
    const shown = CONFIG.overlays.filter((overlay) => state.getAll('show').includes(overlay.name));
    const [bars, ...indicators] = await Promise.all([
      rowsOf(`/stocks/time-series/${path}`, params),
      ...shown.map(async (overlay) => {
        const query = new URLSearchParams({ name: overlay.name, ...Object.fromEntries(params) });
        for (const param of Object.keys(overlay.params)) {
          query.set(param, state.get(`${overlay.name}.${param}`) ?? overlay.params[param]);
        }
        return [overlay, await rowsOf(`/stocks/indicators/${path}`, query)];
      }),
    ]);
    draw(bars, indicators);
    report('ready', `${symbol}: ${bars.length.toLocaleString('en')} bars`);
  } catch (error) {
    report('error', error.message);
  }
}

async function fillSymbols() {
  const picker = form.elements.symbol;
  try {
    const symbols = await rowsOf('/stocks/symbols', new URLSearchParams());
    const current = symbolFromPath();
    picker.replaceChildren(new Option(current ? current : 'choose…', current));
    for (const info of symbols) {
      if (info.symbol !== current) picker.add(new Option(info.symbol, info.symbol));
    }
  } catch (error) {
    report('error', error.message);
  }
}

form.addEventListener('change', (event) => {
  if (event.target.name === 'api_key') {
    sessionStorage.setItem(KEY_STORAGE, event.target.value);
    cache.clear();
    fillSymbols();
  } else if (event.target.name === 'symbol') {
    history.pushState(null, '', `/chart/${encodeURIComponent(event.target.value)}${location.hash}`);
  }
  render();
});
form.addEventListener('submit', (event) => event.preventDefault());
window.addEventListener('popstate', () => {
  applyState(new URLSearchParams(location.hash.slice(1)));
  render();
});

applyState(new URLSearchParams(location.hash.slice(1)));
fillSymbols();
render();
