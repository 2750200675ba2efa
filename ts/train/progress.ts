/** Training progress: a redrawn bar on a terminal, one plain line per report otherwise. */

export interface ProgressState {
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  samplesPerSec: number;
  lr: number;
  extra?: string;
}

function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s).padStart(2, '0')}s`;
}

export class ProgressReporter {
  private readonly tty: boolean;
  private lastPlain = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 10_000,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(p: ProgressState): void {
    if (!this.enabled) return;
    const frac = p.totalSteps > 0 ? p.step / p.totalSteps : 0;
    const eta = p.samplesPerSec > 0 ? ((p.totalSteps - p.step) / Math.max(p.step, 1)) * (this.elapsed()) : NaN;
    const losses = Object.entries(p.losses)
      .map(([k, v]) => `${k}=${v.toFixed(3)}`)
      .join(' ');
    const text = `step ${p.step}/${p.totalSteps} ${losses} ${p.samplesPerSec.toFixed(0)} samples/s lr=${p.lr.toExponential(2)} eta ${fmtDuration(eta)}${p.extra ? ` ${p.extra}` : ''}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(frac * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`.slice(0, (this.stream.columns ?? 160) - 1) + '\x1b[K');
    } else {
      const now = Date.now();
      if (now - this.lastPlain >= this.plainEveryMs || p.step === p.totalSteps) {
        this.lastPlain = now;
        this.stream.write(`${text}\n`);
      }
    }
  }

  /** A line that must not be overwritten (validation results, messages). */
  line(text: string): void {
    if (!this.enabled) return;
    this.stream.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  private readonly started = Date.now();
  private elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }
}
