import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share one PostgreSQL cluster (each has its own database); 2 cores here.
    maxWorkers: 2,
    fileParallelism: true,
    // Servers spawned by tests (`aetheris serve`) would all want the default metrics port 9464:
    // metrics stay off in tests unless a test asks for them (test/telemetry.e2e.test.ts).
    env: { AETHERIS_METRICS_PORT: '0' },
    // The JSON report feeds the one-line summary printed by .ci/run.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
  },
});
