import { useEffect, useRef } from "preact/hooks";
import type { ECOption } from "../chart";

type EChart = import("../chart").echarts.ECharts;

/**
 * An ECharts chart that follows option; onClick gets the clicked
 * category's index. ECharts is loaded on first use, in its own chunk, so
 * the sign-in page and the queue do not wait for it.
 */
export function Chart(props: { option: ECOption; label: string; onClick?: (index: number) => void; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<EChart | null>(null);
  const option = useRef(props.option);
  option.current = props.option;
  const click = useRef(props.onClick);
  click.current = props.onClick;

  useEffect(() => {
    let ro: ResizeObserver | undefined;
    let dead = false;
    import("../chart").then(({ echarts }) => {
      if (dead) return;
      const c = echarts.init(el.current!);
      chart.current = c;
      c.on("click", (p) => click.current?.(p.dataIndex));
      c.setOption(option.current, true);
      ro = new ResizeObserver(() => c.resize());
      ro.observe(el.current!);
    });
    return () => {
      dead = true;
      ro?.disconnect();
      chart.current?.dispose();
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(props.option, true);
  }, [props.option]);

  return <div ref={el} class="chart" role="img" aria-label={props.label} style={{ height: `${props.height ?? 320}px` }} />;
}
