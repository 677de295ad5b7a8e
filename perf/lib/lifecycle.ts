/**
 * The life of a benchmark process: everything started registers its teardown, which runs once,
 * in reverse, even on error, Ctrl-C or the watchdog; progress lines on stderr; the main wrapper.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const teardowns: { name: string; run: () => Promise<void> }[] = [];
let tearingDown: Promise<void> | undefined;

/** Registers a teardown step; steps run in reverse order of registration. */
export function onTeardown(name: string, run: () => Promise<void> | void): void {
  teardowns.push({ name, run: async () => run() });
}

/** Runs every registered step once (later calls return the same promise); failures are logged. */
export function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (const step of teardowns.reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`teardown of ${step.name} failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return tearingDown;
}

/** True once teardown has begun (after a signal, the watchdog, or the end of the run). */
export const isTearingDown = (): boolean => tearingDown !== undefined;

export const progress = (message: string): void => {
  process.stderr.write(`[perf] ${message}\n`);
};

/** Runs `op(1..n)` one after another, stopping early past `budgetMs`. */
export async function sequential<T>(n: number, budgetMs: number, op: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  const deadline = performance.now() + budgetMs;
  for (let i = 1; i <= n; i++) {
    if (performance.now() > deadline) {
      progress(`  phase budget of ${budgetMs / 1000} s spent after ${results.length} of ${n}`);
      break;
    }
    results.push(await op(i));
  }
  return results;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A benchmark script: `--quick` or default parameters, a run producing a report, its outputs. */
export interface Benchmark<P extends { watchdogSeconds: number }, R> {
  /** The script's name, in the usage line. */
  name: string;
  params(quick: boolean): P;
  run(params: P): Promise<R>;
  /** What is printed on stdout after teardown. */
  summary(report: R): string;
  /** Writes the report files; returns their paths. */
  write(report: R): Promise<string[]>;
}

/**
 * Parses `[--quick]`, arms the watchdog and the SIGINT/SIGTERM cleanup, runs the benchmark,
 * tears everything down, then prints the summary and writes the report. Returns the exit code:
 * 0 done, 1 failed, 2 usage (3 and 130 exit from the watchdog and the signal handlers).
 */
export async function runBenchmark<P extends { watchdogSeconds: number }, R>(
  benchmark: Benchmark<P, R>,
): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--quick');
  if (unknown.length) {
    process.stderr.write(`usage: ${benchmark.name} [--quick]  (unknown: ${unknown.join(' ')})\n`);
    return 2;
  }
  const params = benchmark.params(args.includes('--quick'));
  const watchdog = setTimeout(() => {
    process.stderr.write(`[perf] watchdog: still running after ${params.watchdogSeconds} s, aborting\n`);
    void teardown().finally(() => process.exit(3));
  }, params.watchdogSeconds * 1000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`[perf] ${signal}: cleaning up\n`);
      void teardown().finally(() => process.exit(130));
    });
  }
  try {
    const report = await benchmark.run(params);
    await teardown();
    process.stdout.write(`${benchmark.summary(report)}\n`);
    for (const file of await benchmark.write(report)) {
      process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    }
    return 0;
  } catch (error) {
    // Once teardown has begun (signal, watchdog), the run's own failure is only its echo.
    if (!isTearingDown()) process.stderr.write(`[perf] failed: ${(error as Error).stack ?? String(error)}\n`);
    await teardown();
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}
