// What the dashboard's uPlot charts share (dashboard.js, forecast.js): sizes in the page's
// rem, one dark axis style, and a chart that follows its element's size.

/** uPlot sizes in pixels: this scales them with the page's rem, which grows on big screens. */
export function remScale() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) / 16 || 1;
}

/** The axis style of every chart at a rem scale. */
export function axisStyle(rem) {
  return {
    stroke: '#9aa4b2',
    grid: { stroke: '#263041', width: 1 },
    ticks: { stroke: '#263041', width: 1 },
    font: `${Math.round(14 * rem)}px system-ui, sans-serif`,
  };
}

/** A uPlot chart drawn in `el` that resizes with it; `height` while the element has none. */
export function mountChart(el, opts, emptyData, height) {
  const chart = new globalThis.uPlot(opts, emptyData, el);
  new ResizeObserver(() => chart.setSize({ width: el.clientWidth, height: el.clientHeight || height })).observe(el);
  return chart;
}
