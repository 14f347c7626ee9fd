import { useEffect, useRef } from "preact/hooks";
import type { ChartData } from "../chart";

/**
 * A category chart (bars and percentage lines) that follows data; onClick
 * gets the clicked category's index. The chart library is loaded on first
 * use, in its own chunk, so the sign-in page and the queue do not wait for
 * it. It is drawn again when data or the element's width changes.
 */
export function Chart(props: { data: ChartData; label: string; onClick?: (index: number) => void; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const click = useRef(props.onClick);
  click.current = props.onClick;
  const height = props.height ?? 320;

  useEffect(() => {
    let dead = false;
    let chart: { destroy(): void; setSize(s: { width: number; height: number }): void } | undefined;
    let ro: ResizeObserver | undefined;
    import("../chart").then(({ draw }) => {
      const box = el.current;
      if (dead || !box) return;
      // The legend sits below the plot, inside the same height.
      chart = draw(box, props.data, box.clientWidth, height - 40, (i) => click.current?.(i));
      ro = new ResizeObserver(() => chart?.setSize({ width: box.clientWidth, height: height - 40 }));
      ro.observe(box);
    });
    return () => {
      dead = true;
      ro?.disconnect();
      chart?.destroy();
    };
  }, [props.data, height]);

  return <div ref={el} class="chart" role="img" aria-label={props.label} style={{ minHeight: `${height}px` }} />;
}
