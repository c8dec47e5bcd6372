import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** Nothing at all. */
  quiet?: boolean;
  /** Where it goes (stderr by default, so `--json` output on stdout stays clean). */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal. Default 10 (`IV2_PROGRESS_INTERVAL`). */
  interval?: number;
}

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * Progress of a long task: a bar with rate and ETA on a terminal (cli-progress), plain periodic lines otherwise
 * (logs, CI, pipes), nothing with `quiet`. `info` is free text shown beside the numbers (losses, lr, …).
 */
export class Progress {
  private bar?: cliProgress.SingleBar;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private total = 0;
  private value = 0;
  private start = 0;
  private startValue = 0;
  private lastLine = 0;
  private label = '';
  private unit = 'it';
  private readonly interval: number;

  constructor(private readonly opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
    this.interval = (opts.interval ?? Number(process.env.IV2_PROGRESS_INTERVAL ?? 10)) * 1000;
  }

  begin(label: string, total: number, opts: { initial?: number; unit?: string } = {}): void {
    this.end();
    this.label = label;
    this.total = total;
    this.value = opts.initial ?? 0;
    this.startValue = this.value;
    this.unit = opts.unit ?? 'it';
    this.start = performance.now();
    this.lastLine = this.start;
    if (this.opts.quiet) return;
    if (this.tty) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${label.padEnd(8)} {bar} {value}/{total} | {info} | {rate} ${this.unit}/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, this.value, { info: '', rate: '0.0' });
    }
  }

  /** Seconds per unit so far, units per second, seconds left. */
  stats(): { rate: number; eta: number; elapsed: number } {
    const elapsed = (performance.now() - this.start) / 1000;
    const done = this.value - this.startValue;
    const rate = elapsed > 0 ? done / elapsed : 0;
    return { rate, eta: rate > 0 ? (this.total - this.value) / rate : Number.NaN, elapsed };
  }

  update(value: number, info = ''): void {
    this.value = value;
    if (this.opts.quiet) return;
    const { rate, eta } = this.stats();
    if (this.bar) {
      this.bar.update(value, { info, rate: rate.toFixed(rate < 10 ? 2 : 1) });
      return;
    }
    const now = performance.now();
    if (now - this.lastLine < this.interval && value < this.total) return;
    this.lastLine = now;
    this.stream.write(
      `${this.label} ${value}/${this.total} (${((100 * value) / (this.total || 1)).toFixed(0)}%)${info ? ` ${info}` : ''} | ${rate.toFixed(rate < 10 ? 2 : 1)} ${this.unit}/s | ETA ${formatSeconds(eta)}\n`,
    );
  }

  /** A message that must not be torn by the bar. */
  log(line: string): void {
    if (this.opts.quiet) return;
    if (this.bar) {
      this.stream.write('\r\x1b[K');
      this.stream.write(`${line}\n`);
      this.bar.render?.();
    } else this.stream.write(`${line}\n`);
  }

  end(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
  }
}
