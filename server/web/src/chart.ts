// uPlot (https://github.com/leeoniya/uPlot): canvas charts in 50 kB,
// loaded in its own chunk with the first chart. It replaced Apache
// ECharts (547 kB), whose parsing alone kept a first load of the
// dashboard near a second on a 2-CPU machine.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One series of a category chart. */
export interface Series {
  name: string;
  /** Bars count on the left axis; lines are percentages on the right one (0-100). */
  kind: "bar" | "line";
  values: (number | null)[];
}

/** A category chart: its x-axis labels and series. */
export interface ChartData {
  /** What the categories are ("Day"), the legend's first entry. */
  name: string;
  categories: string[];
  series: Series[];
  /** Degrees to turn the x-axis labels (long labels). */
  rotate?: number;
}

// Whole steps for the count axis: 1, 2, 5, 10, 20, 50, …
const wholeSteps = [0, 1, 2, 3, 4, 5, 6].flatMap((e) => [1, 2, 5].map((m) => m * 10 ** e));

// Colours that keep 3:1 contrast against the white page.
const colours = ["#3b6fd4", "#2e8b57", "#c0392b", "#8e44ad"];

/** Builds the chart into el, width × height CSS pixels; onClick gets a category's index. */
export function draw(el: HTMLElement, d: ChartData, width: number, height: number, onClick?: (index: number) => void): uPlot {
  const bars = d.series.filter((s) => s.kind === "bar").length;
  let bar = 0;
  const series: uPlot.Series[] = [
    { label: d.name, value: (_u, i) => (i == null ? "" : d.categories[i] ?? "") },
    ...d.series.map((s, i): uPlot.Series => {
      const colour = colours[i % colours.length];
      if (s.kind === "line") {
        return { label: s.name, scale: "%", stroke: colour, width: 2, spanGaps: true, value: (_u, v) => (v == null ? "—" : `${v.toFixed(1)}%`) };
      }
      // Bars side by side: the first left of the category, the second right.
      const align = bars === 1 ? 0 : bar++ === 0 ? -1 : 1;
      return {
        label: s.name, stroke: colour, fill: colour + "cc", width: 0,
        paths: uPlot.paths.bars!({ size: [bars === 1 ? 0.6 : 0.35, 48], align }),
        points: { show: false },
      };
    }),
  ];
  const n = d.categories.length;
  const opts: uPlot.Options = {
    width, height, series,
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(n, 1) - 0.5] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      "%": { range: [0, 100] },
    },
    axes: [
      {
        // Category labels at whole positions only, as many as fit.
        splits: (_u, _i, min, max, incr) => {
          const step = Math.max(1, Math.round(incr));
          const out: number[] = [];
          for (let x = Math.ceil(min); x <= max; x += step) out.push(x);
          return out;
        },
        values: (_u, splits) => splits.map((x) => d.categories[x] ?? ""),
        rotate: d.rotate ?? 0,
        size: d.rotate ? 70 : 40,
        grid: { show: false },
      },
      { scale: "y", incrs: wholeSteps },
      { scale: "%", side: 1, grid: { show: false }, values: (_u, v) => v.map((x) => `${x}%`) },
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
  };
  const data: uPlot.AlignedData = [d.categories.map((_, i) => i), ...d.series.map((s) => s.values)];
  const u = new uPlot(opts, data, el);
  if (onClick) {
    u.over.style.cursor = "pointer";
    u.over.addEventListener("click", () => {
      if (u.cursor.idx != null) onClick(u.cursor.idx);
    });
  }
  return u;
}
