// promtool.mjs - checks a /metrics body with Prometheus's own linter (`promtool check metrics`,
// Debian's prometheus package, installed by `make deps`): an oracle nobody here wrote.
import { spawnSync } from 'node:child_process';

// { ok, out }: promtool's verdict and what it printed (a missing promtool is a failure).
export function checkMetrics(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout || ''}${r.stderr || ''}${r.error ? String(r.error) : ''}` };
}
