import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { clock } from './format.js';

// A time-series line chart. `data` is [times (s), ...one array per series];
// `series` gives each line's label, color and value format. `summary` is the
// text read out for the chart (its current values). With `windowSeconds` the
// x axis shows that many seconds up to the newest point. The legend shows the
// values under the cursor, or the newest ones.
function lastValue(values) {
  for (let i = values.length - 1; i >= 0; i -= 1) if (values[i] != null) return values[i];
  return null;
}

export function Chart({
  title, series, data, summary, height = 170, yMin = 0, yFormat, windowSeconds, bars = false,
}) {
  const box = useRef(null);
  const plot = useRef(null);

  useEffect(() => {
    const el = box.current;
    const opts = {
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        // The last `windowSeconds` (at least 10 s, at most what is there).
        x: windowSeconds
          ? { time: true, range: (u, min, max) => [Math.min(Math.max(min, max - windowSeconds), max - 10), max] }
          : { time: true },
        y: { range: (u, min, max) => [yMin, Math.max(yMin + 1, max * 1.15)] },
      },
      axes: [
        {
          stroke: '#555',
          grid: { stroke: '#eee' },
          ticks: { stroke: '#ddd' },
          space: 80,
          values: (u, splits) => splits.map((v) => clock(v * 1000)),
        },
        {
          stroke: '#555',
          grid: { stroke: '#eee' },
          ticks: { stroke: '#ddd' },
          size: 64,
          values: yFormat ? (u, vals) => vals.map((v) => yFormat(v)) : undefined,
        },
      ],
      series: [
        { label: 'time', value: (u, v) => (v == null ? 'latest' : clock(v * 1000)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.fill,
          width: 2,
          points: { show: false },
          paths: bars ? uPlot.paths.bars({ size: [0.6, 24] }) : undefined,
          value: (u, v, si) => {
            const shown = v == null && u.cursor.idx == null ? lastValue(u.data[si]) : v;
            if (shown == null) return '–';
            return s.format ? s.format(shown) : String(shown);
          },
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (plot.current && plot.current.width !== width) plot.current.setSize({ width, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-plot" role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
