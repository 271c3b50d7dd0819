/*
 * The what-if graph drawn with Lightweight Charts' options chart (`createOptionsChart`:
 * its horizontal scale is a price, not a time): three P&L lines (today, the chosen date,
 * expiration), the ±1σ/±2σ bands as shading under them (a histogram on a hidden scale),
 * a zero line, and markers for the current price and the break-evens. The library is
 * vendored from npm (operations/vendor_static.py), loaded on this page only.
 */
import {
  HistogramSeries, LineSeries, LineStyle, createOptionsChart, createSeriesMarkers,
} from '../../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs';

export const SERIES_COLORS = { today: '#60a5fa', date: '#a78bfa', expiration: '#34d399' };

const pnlText = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toLocaleString('en-US', { maximumFractionDigits: 0 })}`;

/** box: the element the chart fills. Returns {draw(parts), data()}. */
export function createRiskChart(box) {
  const chart = createOptionsChart(box, {
    autoSize: true,
    layout: { background: { color: 'transparent' }, textColor: '#cbd5e1', attributionLogo: false },
    grid: { vertLines: { color: 'rgba(148, 163, 184, 0.08)' }, horzLines: { color: 'rgba(148, 163, 184, 0.08)' } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, fixLeftEdge: true, fixRightEdge: true },
    localization: { priceFormatter: pnlText },
    handleScroll: false,
    handleScale: false,
  });
  const bands = chart.addSeries(HistogramSeries, {
    priceScaleId: 'bands', lastValueVisible: false, priceLineVisible: false, base: 0,
  });
  chart.priceScale('bands').applyOptions({ visible: false, scaleMargins: { top: 0, bottom: 0 } });
  const line = (key, width) => chart.addSeries(LineSeries, {
    color: SERIES_COLORS[key], lineWidth: width, lastValueVisible: false, priceLineVisible: false,
    crosshairMarkerVisible: key === 'today', title: '',
  });
  const series = { expiration: line('expiration', 2), date: line('date', 2), today: line('today', 3) };
  series.today.createPriceLine({ price: 0, color: 'rgba(148, 163, 184, 0.5)', lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: false });
  const markers = createSeriesMarkers(series.today, []);
  const beMarkers = createSeriesMarkers(series.expiration, []);
  let grid = null;

  return {
    /** parts: {grid, today, date, expiration, shading, priceMarkers, beMarkers} (graph.js). */
    draw(parts) {
      if (parts.shading) bands.setData(parts.shading);
      for (const key of ['today', 'date', 'expiration']) if (parts[key]) series[key].setData(parts[key]);
      markers.setMarkers(parts.priceMarkers || []);
      beMarkers.setMarkers(parts.beMarkers || []);
      if (parts.grid && parts.grid !== grid) {
        grid = parts.grid;
        chart.timeScale().fitContent();
      }
    },
    /** What the library holds (tests read it back). */
    data() {
      return {
        today: series.today.data(),
        date: series.date.data(),
        expiration: series.expiration.data(),
        bands: bands.data().filter((p) => p.value !== undefined).length,
        markers: [...markers.markers(), ...beMarkers.markers()],
      };
    },
  };
}
